package wxpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Refund statuses (status, refund_status).
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundAbnormal   = "ABNORMAL"
	RefundClosed     = "CLOSED"
)

// Sentinel errors of the refund Go methods and the Console.
var (
	ErrUnknownRefund = errors.New("wxpay: no such refund")
	ErrRefundFinal   = errors.New("wxpay: refund already ended")
	ErrBadStatus     = errors.New("wxpay: status must be SUCCESS, ABNORMAL or CLOSED")
)

// Documented limits: refunds within a year of payment, at most 50 per order.
const (
	refundWindow  = 365 * 24 * time.Hour
	refundsPerTxn = 50
)

type refund struct {
	id, outRefundNo     string
	order               *order
	reason, notifyURL   string
	fundsAccount        string
	amount, total       int64
	status              string
	createdAt, settleAt time.Time
}

// FundsFrom is one source of a refund's money.
type FundsFrom struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// RefundAmount is a refund's amounts in fen.
type RefundAmount struct {
	Total            int64       `json:"total"`
	Refund           int64       `json:"refund"`
	From             []FundsFrom `json:"from"`
	PayerTotal       int64       `json:"payer_total"`
	PayerRefund      int64       `json:"payer_refund"`
	SettlementRefund int64       `json:"settlement_refund"`
	SettlementTotal  int64       `json:"settlement_total"`
	DiscountRefund   int64       `json:"discount_refund"`
	Currency         string      `json:"currency"`
}

// Refund is the refund object the refund APIs answer with.
type Refund struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              RefundAmount `json:"amount"`
	PromotionDetail     []any        `json:"promotion_detail"`
}

func (r *refund) view() Refund {
	v := Refund{
		RefundID:            r.id,
		OutRefundNo:         r.outRefundNo,
		TransactionID:       r.order.txID,
		OutTradeNo:          r.order.outTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: "支付用户零钱",
		CreateTime:          stamp(r.createdAt),
		Status:              r.status,
		FundsAccount:        r.fundsAccount,
		Amount: RefundAmount{
			Total:            r.total,
			Refund:           r.amount,
			From:             []FundsFrom{},
			PayerTotal:       r.total,
			PayerRefund:      r.amount,
			SettlementRefund: r.amount,
			SettlementTotal:  r.total,
			Currency:         "CNY",
		},
		PromotionDetail: []any{},
	}
	if r.status == RefundSuccess {
		v.SuccessTime = stamp(r.settleAt)
	}
	return v
}

// refundNotice is the resource of a REFUND.* notification.
type refundNotice struct {
	MchID               string `json:"mchid"`
	TransactionID       string `json:"transaction_id"`
	OutTradeNo          string `json:"out_trade_no"`
	RefundID            string `json:"refund_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

type refundRequest struct {
	TransactionID *string `json:"transaction_id"`
	OutTradeNo    *string `json:"out_trade_no"`
	OutRefundNo   *string `json:"out_refund_no"`
	Reason        *string `json:"reason"`
	NotifyURL     *string `json:"notify_url"`
	FundsAccount  *string `json:"funds_account"`
	Amount        *struct {
		Refund   *int64  `json:"refund"`
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
}

func validateRefund(req *refundRequest) *apiError {
	switch {
	case req.OutRefundNo == nil || *req.OutRefundNo == "":
		return missing("body", "/out_refund_no", "商户退款单号")
	case !validNo(*req.OutRefundNo, 1, 64, "_-|*@"):
		return malformed("body", "/out_refund_no", "商户退款单号", *req.OutRefundNo, "字符串规则校验失败，要求64个字符内，只能是数字、大小写字母_-|*@")
	case str(req.TransactionID) == "" && str(req.OutTradeNo) == "":
		return missing("body", "/out_trade_no", "商户订单号")
	case req.Reason != nil && utf8.RuneCountInString(*req.Reason) > 80:
		return malformed("body", "/reason", "退款原因", *req.Reason, "字符串规则校验失败，字符数超过最大值 80")
	case req.NotifyURL != nil && *req.NotifyURL != "" && !validNotifyURL(*req.NotifyURL):
		return malformed("body", "/notify_url", "退款结果回调url", *req.NotifyURL, "URL规则校验失败，须为不带查询串的绝对https或http地址")
	case req.FundsAccount != nil && *req.FundsAccount != "AVAILABLE":
		return malformed("body", "/funds_account", "退款资金来源", *req.FundsAccount, "枚举规则校验失败，仅支持 AVAILABLE")
	case req.Amount == nil:
		return missing("body", "/amount", "金额信息")
	case req.Amount.Refund == nil:
		return missing("body", "/amount/refund", "退款金额")
	case *req.Amount.Refund < 1:
		return malformed("body", "/amount/refund", "退款金额", *req.Amount.Refund, fmt.Sprintf("整数规则校验失败，值 %d，小于最小值 1", *req.Amount.Refund))
	case req.Amount.Total == nil:
		return missing("body", "/amount/total", "原订单金额")
	case req.Amount.Currency == nil || *req.Amount.Currency == "":
		return missing("body", "/amount/currency", "退款币种")
	case *req.Amount.Currency != "CNY":
		return malformed("body", "/amount/currency", "退款币种", *req.Amount.Currency, "枚举规则校验失败，境内商户号仅支持人民币 CNY")
	}
	return nil
}

func resourceNotExists(msg string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "RESOURCE_NOT_EXISTS", Message: msg}
}

// createRefund serves POST /v3/refund/domestic/refunds. A repeated
// out_refund_no with the same order and amounts answers the refund it
// already made; the refund starts PROCESSING.
func (s *Server) createRefund(w http.ResponseWriter, r *http.Request, body []byte) {
	var req refundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "请求体格式错误，无法解析为JSON：" + err.Error()})
		return
	}
	if e := validateRefund(&req); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	v, e := s.refundLocked(&req)
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	s.writeJSON(w, r, v)
}

// refundLocked applies a validated refund request. The caller holds s.mu.
func (s *Server) refundLocked(req *refundRequest) (Refund, *apiError) {
	now := s.cfg.Now()
	var o *order
	if id := str(req.TransactionID); id != "" {
		o = s.byTransaction[id]
	} else {
		o = s.orders[str(req.OutTradeNo)]
	}
	if o == nil {
		return Refund{}, resourceNotExists("订单不存在")
	}
	s.expire(o)
	if prior, ok := s.refunds[*req.OutRefundNo]; ok {
		if prior.order != o || prior.amount != *req.Amount.Refund || prior.total != *req.Amount.Total {
			return Refund{}, invalidRequest("退款单号已存在，订单金额或退款金额与之前请求不一致，请核实后再试")
		}
		return prior.view(), nil
	}
	switch {
	case !o.paid():
		return Refund{}, resourceNotExists("订单未支付，未支付的订单不能发起退款")
	case *req.Amount.Total != o.total:
		return Refund{}, invalidRequest("订单金额与实际支付金额不一致")
	case now.Sub(o.successAt) > refundWindow:
		return Refund{}, invalidRequest("订单已经超过可退款的最大期限(支付后一年内可退款)")
	case len(o.refunds) >= refundsPerTxn:
		return Refund{}, invalidRequest("该订单部分退款次数已达上限(50次)")
	}
	left := o.total - o.refunded()
	switch {
	case left == 0:
		return Refund{}, invalidRequest("订单已全额退款")
	case *req.Amount.Refund > left:
		return Refund{}, invalidRequest("申请退款金额超过订单可退金额")
	}
	rf := &refund{
		id:           refundID(now),
		outRefundNo:  *req.OutRefundNo,
		order:        o,
		reason:       str(req.Reason),
		notifyURL:    str(req.NotifyURL),
		fundsAccount: "UNSETTLED",
		amount:       *req.Amount.Refund,
		total:        o.total,
		status:       RefundProcessing,
		createdAt:    now,
	}
	if req.FundsAccount != nil {
		rf.fundsAccount = *req.FundsAccount
	}
	s.refunds[rf.outRefundNo] = rf
	o.refunds = append(o.refunds, rf)
	o.state, o.stateDesc = StateRefund, "转入退款"
	if !s.cfg.ManualRefunds {
		no, delay := rf.outRefundNo, s.cfg.scaled(s.cfg.RefundDelay)
		s.spawn(func(ctx context.Context) {
			if !sleep(ctx, delay) {
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			// A Console action may have ended the refund meanwhile; an
			// ABNORMAL one waits for the Console too.
			if rf := s.refunds[no]; rf.status == RefundProcessing {
				s.settleLocked(rf, RefundSuccess)
			}
		})
	}
	return rf.view(), nil
}

// queryRefund serves GET /v3/refund/domestic/refunds/{out_refund_no}.
func (s *Server) queryRefund(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	rf, ok := s.refunds[r.PathValue("out_refund_no")]
	var v Refund
	if ok {
		v = rf.view()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, resourceNotExists("退款单不存在"))
		return
	}
	s.writeJSON(w, r, v)
}

// SettleRefund ends a refund: SUCCESS (the money reached the shopper),
// ABNORMAL (the card it went back to was cancelled; an ABNORMAL refund can
// still be settled again) or CLOSED (its amount becomes refundable again).
// It sends the REFUND.* notification when the refund named a notify_url.
func (s *Server) SettleRefund(outRefundNo, status string) (Refund, error) {
	if status != RefundSuccess && status != RefundAbnormal && status != RefundClosed {
		return Refund{}, fmt.Errorf("%w: %q", ErrBadStatus, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rf, ok := s.refunds[outRefundNo]
	if !ok {
		return Refund{}, fmt.Errorf("%w: %s", ErrUnknownRefund, outRefundNo)
	}
	if rf.status != RefundProcessing && rf.status != RefundAbnormal {
		return Refund{}, fmt.Errorf("%w: %s is %s", ErrRefundFinal, outRefundNo, rf.status)
	}
	s.settleLocked(rf, status)
	return rf.view(), nil
}

// settleLocked moves rf to status and notifies. The caller holds s.mu.
func (s *Server) settleLocked(rf *refund, status string) {
	summary := map[string]string{
		RefundSuccess:  "退款成功",
		RefundAbnormal: "退款异常",
		RefundClosed:   "退款关闭",
	}[status]
	rf.status = status
	rf.settleAt = s.cfg.Now()
	n := refundNotice{
		MchID:               rf.order.mchID,
		TransactionID:       rf.order.txID,
		OutTradeNo:          rf.order.outTradeNo,
		RefundID:            rf.id,
		OutRefundNo:         rf.outRefundNo,
		RefundStatus:        status,
		UserReceivedAccount: "支付用户零钱",
	}
	if status == RefundSuccess {
		n.SuccessTime = stamp(rf.settleAt)
	}
	n.Amount.Total, n.Amount.Refund = rf.total, rf.amount
	n.Amount.PayerTotal, n.Amount.PayerRefund = rf.total, rf.amount
	s.enqueue(notice{
		eventType:    "REFUND." + status,
		summary:      summary,
		originalType: "refund",
		url:          rf.notifyURL,
		outTradeNo:   rf.order.outTradeNo,
		outRefundNo:  rf.outRefundNo,
		resource:     n,
	})
}

// Refunds lists every refund, oldest first.
func (s *Server) Refunds() []Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*refund, 0, len(s.refunds))
	for _, r := range s.refunds {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b *refund) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.outRefundNo, b.outRefundNo)
	})
	out := make([]Refund, 0, len(all))
	for _, r := range all {
		out = append(out, r.view())
	}
	return out
}

// Refund returns one refund by out_refund_no.
func (s *Server) Refund(outRefundNo string) (Refund, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[outRefundNo]
	if !ok {
		return Refund{}, fmt.Errorf("%w: %s", ErrUnknownRefund, outRefundNo)
	}
	return r.view(), nil
}
