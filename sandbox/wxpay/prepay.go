package wxpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// validNo reports whether no has min to max characters, each a digit, an
// ASCII letter or one of extra: the documented rule for out_trade_no
// (6-32, _-|*) and out_refund_no (1-64, _-|*@).
func validNo(no string, minLen, maxLen int, extra string) bool {
	if len(no) < minLen || len(no) > maxLen {
		return false
	}
	for _, c := range no {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.ContainsRune(extra, c)) {
			return false
		}
	}
	return true
}

// prepayRequest is the body of POST /v3/pay/transactions/jsapi. Pointers
// tell a missing field from an empty one.
type prepayRequest struct {
	AppID         *string  `json:"appid"`
	MchID         *string  `json:"mchid"`
	Description   *string  `json:"description"`
	OutTradeNo    *string  `json:"out_trade_no"`
	TimeExpire    *string  `json:"time_expire"`
	Attach        *string  `json:"attach"`
	NotifyURL     *string  `json:"notify_url"`
	GoodsTag      *string  `json:"goods_tag"`
	SupportFapiao *bool    `json:"support_fapiao"`
	LimitPay      []string `json:"limit_pay"`
	Amount        *struct {
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID *string `json:"openid"`
	} `json:"payer"`
	Detail     json.RawMessage `json:"detail"`
	SceneInfo  json.RawMessage `json:"scene_info"`
	SettleInfo json.RawMessage `json:"settle_info"`
}

// validNotifyURL applies the notify_url rules: an absolute http(s) URL
// without a query string ("不允许携带查询串"). The platform demands https
// for real domains; the sandbox also takes http so a local Siyu can listen.
func validNotifyURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.RawQuery == "" && len(raw) <= 255
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// validatePrepay checks the body the way the platform documents, in the
// order of its fields, and returns the normalised order it asks for.
func (s *Server) validatePrepay(req *prepayRequest, now time.Time) (*order, *apiError) {
	switch {
	case req.AppID == nil || *req.AppID == "":
		return nil, missing("body", "/appid", "应用ID")
	case req.MchID == nil || *req.MchID == "":
		return nil, missing("body", "/mchid", "直连商户号")
	case req.Description == nil || *req.Description == "":
		return nil, missing("body", "/description", "商品描述")
	case utf8.RuneCountInString(*req.Description) > 127:
		return nil, malformed("body", "/description", "商品描述", *req.Description, "字符串规则校验失败，字符数超过最大值 127")
	case req.OutTradeNo == nil || *req.OutTradeNo == "":
		return nil, missing("body", "/out_trade_no", "商户订单号")
	case !validNo(*req.OutTradeNo, 6, 32, "_-|*"):
		return nil, malformed("body", "/out_trade_no", "商户订单号", *req.OutTradeNo, "字符串规则校验失败，要求6-32个字符内，只能是数字、大小写字母_-|*")
	case req.Attach != nil && utf8.RuneCountInString(*req.Attach) > 128:
		return nil, malformed("body", "/attach", "附加数据", *req.Attach, "字符串规则校验失败，字符数超过最大值 128")
	case req.NotifyURL == nil || *req.NotifyURL == "":
		return nil, missing("body", "/notify_url", "通知地址")
	case !validNotifyURL(*req.NotifyURL):
		return nil, malformed("body", "/notify_url", "通知地址", *req.NotifyURL, "URL规则校验失败，须为不带查询串的绝对https或http地址")
	case req.GoodsTag != nil && len(*req.GoodsTag) > 32:
		return nil, malformed("body", "/goods_tag", "订单优惠标记", *req.GoodsTag, "字符串规则校验失败，字节数超过最大值 32")
	case req.Amount == nil:
		return nil, missing("body", "/amount", "订单金额")
	case req.Amount.Total == nil:
		return nil, missing("body", "/amount/total", "总金额")
	case *req.Amount.Total < 1:
		return nil, malformed("body", "/amount/total", "总金额", *req.Amount.Total, fmt.Sprintf("整数规则校验失败，值 %d，小于最小值 1", *req.Amount.Total))
	case req.Amount.Currency != nil && *req.Amount.Currency != "CNY":
		return nil, malformed("body", "/amount/currency", "货币类型", *req.Amount.Currency, "枚举规则校验失败，境内商户号仅支持人民币 CNY")
	case req.Payer == nil:
		return nil, missing("body", "/payer", "支付者")
	case req.Payer.OpenID == nil || *req.Payer.OpenID == "":
		return nil, missing("body", "/payer/openid", "用户标识")
	case len(*req.Payer.OpenID) > 128:
		return nil, malformed("body", "/payer/openid", "用户标识", *req.Payer.OpenID, "字符串规则校验失败，字节数超过最大值 128")
	}
	o := &order{
		appID:       *req.AppID,
		mchID:       *req.MchID,
		description: *req.Description,
		outTradeNo:  *req.OutTradeNo,
		attach:      str(req.Attach),
		notifyURL:   *req.NotifyURL,
		goodsTag:    str(req.GoodsTag),
		openID:      *req.Payer.OpenID,
		total:       *req.Amount.Total,
		currency:    "CNY",
		createdAt:   now,
		state:       StateNotPay,
		stateDesc:   "订单未支付",
	}
	var given time.Time
	if req.TimeExpire != nil {
		t, err := time.Parse(time.RFC3339, *req.TimeExpire)
		if err != nil {
			return nil, malformed("body", "/time_expire", "支付结束时间", *req.TimeExpire, "时间格式校验失败，须遵循rfc3339标准格式 yyyy-MM-DDTHH:mm:ss+TIMEZONE")
		}
		given = t
		// Documented: a deadline earlier than one minute after the order is
		// moved to one minute after it, not refused.
		o.timeExpire = t
		if t.Before(now.Add(time.Minute)) {
			o.timeExpire = now.Add(time.Minute)
		}
	}
	o.canonical = canonicalPrepay(req, given)
	return o, nil
}

// canonicalPrepay renders every parameter of a prepay request in one
// normal form, so a repeated prepay can be compared with the first.
// time_expire compares as an instant; objects compare compacted.
func canonicalPrepay(req *prepayRequest, timeExpire time.Time) string {
	compact := func(raw json.RawMessage) string {
		var b bytes.Buffer
		if len(raw) == 0 || json.Compact(&b, raw) != nil {
			return string(raw)
		}
		return b.String()
	}
	te := ""
	if !timeExpire.IsZero() {
		te = timeExpire.UTC().Format(time.RFC3339)
	}
	fapiao := req.SupportFapiao != nil && *req.SupportFapiao
	b, _ := json.Marshal([]any{
		str(req.AppID), str(req.MchID), str(req.Description), str(req.OutTradeNo), te,
		str(req.Attach), str(req.NotifyURL), str(req.GoodsTag), fapiao, req.LimitPay,
		*req.Amount.Total, str(req.Payer.OpenID),
		compact(req.Detail), compact(req.SceneInfo), compact(req.SettleInfo),
	})
	return string(b)
}

// prepay serves POST /v3/pay/transactions/jsapi. A repeated out_trade_no
// with the same parameters gets a fresh prepay_id for the same order, while
// the order is still payable; anything else about it is refused.
func (s *Server) prepay(w http.ResponseWriter, r *http.Request, body []byte) {
	var req prepayRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "请求体格式错误，无法解析为JSON：" + err.Error()})
		return
	}
	now := s.cfg.Now()
	fresh, e := s.validatePrepay(&req, now)
	if e != nil {
		writeError(w, e)
		return
	}
	if fresh.mchID != s.cfg.MchID {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "MCH_NOT_EXISTS", Message: "商户号不存在"})
		return
	}
	if fresh.appID != s.cfg.AppID {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "APPID_MCHID_NOT_MATCH", Message: "AppID和mch_id不匹配"})
		return
	}

	s.mu.Lock()
	o, exists := s.orders[fresh.outTradeNo]
	if exists {
		s.expire(o)
		var refuse *apiError
		switch {
		case o.paid():
			refuse = &apiError{Status: http.StatusBadRequest, Code: "ORDERPAID", Message: "该订单已支付"}
		case o.state == StateClosed:
			refuse = &apiError{Status: http.StatusBadRequest, Code: "ORDER_CLOSED", Message: "当前订单已关闭，请重新下单"}
		case o.canonical != fresh.canonical:
			refuse = &apiError{Status: http.StatusForbidden, Code: "OUT_TRADE_NO_USED", Message: "商户订单号重复，同一笔交易不能多次提交，请核实商户订单号是否重复提交"}
		case !o.timeExpire.IsZero() && now.After(o.timeExpire):
			// Documented: past its time_expire an order cannot be paid and
			// the merchant must order again under a new out_trade_no.
			refuse = &apiError{Status: http.StatusForbidden, Code: "OUT_TRADE_NO_USED", Message: "订单已超过支付结束时间，请使用新的商户订单号下单"}
		}
		if refuse != nil {
			s.mu.Unlock()
			writeError(w, refuse)
			return
		}
	} else {
		o = fresh
		s.orders[o.outTradeNo] = o
	}
	id := prepayID(now)
	o.prepays = append(o.prepays, prepayGrant{id: id, issued: now})
	s.byPrepay[id] = o
	s.mu.Unlock()

	s.writeJSON(w, r, map[string]string{"prepay_id": id})
}
