package wxpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Trade states of a transaction (trade_state).
const (
	StateNotPay   = "NOTPAY"
	StateSuccess  = "SUCCESS"
	StateClosed   = "CLOSED"
	StateRefund   = "REFUND"
	StatePayError = "PAYERROR"
)

// prepayLifetime is how long a prepay_id can be paid with ("有效期为2小时").
const prepayLifetime = 2 * time.Hour

// Sentinel errors of the Go methods and the Console.
var (
	ErrUnknownOrder  = errors.New("wxpay: no such order")
	ErrUnknownPrepay = errors.New("wxpay: no such prepay_id")
	ErrPrepayExpired = errors.New("wxpay: prepay_id expired (valid for 2 hours)")
	ErrPaid          = errors.New("wxpay: order already paid")
	ErrClosed        = errors.New("wxpay: order closed")
	ErrPastDeadline  = errors.New("wxpay: past the order's time_expire")
)

// order is the platform's record of one out_trade_no.
type order struct {
	appID, mchID, description, outTradeNo string
	attach, notifyURL, goodsTag, openID   string
	total                                 int64
	currency                              string
	// canonical is the normalised request; a repeated prepay must match it.
	canonical  string
	createdAt  time.Time
	timeExpire time.Time // zero when the request set none
	state      string
	stateDesc  string
	txID       string
	successAt  time.Time
	prepays    []prepayGrant
	refunds    []*refund
}

type prepayGrant struct {
	id     string
	issued time.Time
}

// Payer is who paid.
type Payer struct {
	OpenID string `json:"openid"`
}

// TransactionAmount is a transaction's amount in fen.
type TransactionAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

// Transaction is the transaction object the query APIs answer with and
// TRANSACTION.SUCCESS notifications carry. Fields that only exist once paid
// (transaction_id, trade_type, bank_type, success_time, payer,
// amount.payer_total) are left out before.
type Transaction struct {
	AppID          string            `json:"appid"`
	MchID          string            `json:"mchid"`
	OutTradeNo     string            `json:"out_trade_no"`
	TransactionID  string            `json:"transaction_id,omitempty"`
	TradeType      string            `json:"trade_type,omitempty"`
	TradeState     string            `json:"trade_state"`
	TradeStateDesc string            `json:"trade_state_desc"`
	BankType       string            `json:"bank_type,omitempty"`
	Attach         string            `json:"attach,omitempty"`
	SuccessTime    string            `json:"success_time,omitempty"`
	Payer          *Payer            `json:"payer,omitempty"`
	Amount         TransactionAmount `json:"amount"`
}

// Order is the sandbox's inspection view of an order: the transaction plus
// what the merchant asked for and what the platform issued.
type Order struct {
	Transaction
	Description string   `json:"description"`
	NotifyURL   string   `json:"notify_url"`
	CreateTime  string   `json:"create_time"`
	TimeExpire  string   `json:"time_expire,omitempty"`
	PrepayIDs   []string `json:"prepay_ids"`
	Refunded    int64    `json:"refunded"`
}

// expire applies the platform's own clock to o: an unpaid order closes by
// itself AutoCloseAfter its creation. The caller holds s.mu.
func (s *Server) expire(o *order) {
	if (o.state == StateNotPay || o.state == StatePayError) && !s.cfg.Now().Before(o.createdAt.Add(s.cfg.AutoCloseAfter)) {
		o.state, o.stateDesc = StateClosed, "订单已关闭"
	}
}

func (o *order) paid() bool { return o.state == StateSuccess || o.state == StateRefund }

// transaction renders o. The caller holds s.mu.
func (o *order) transaction() Transaction {
	t := Transaction{
		AppID:          o.appID,
		MchID:          o.mchID,
		OutTradeNo:     o.outTradeNo,
		TradeState:     o.state,
		TradeStateDesc: o.stateDesc,
		Attach:         o.attach,
		Amount:         TransactionAmount{Total: o.total, Currency: o.currency, PayerCurrency: o.currency},
	}
	if o.txID != "" {
		total := o.total
		t.TransactionID = o.txID
		t.TradeType = "JSAPI"
		t.BankType = "OTHERS"
		t.SuccessTime = stamp(o.successAt)
		t.Payer = &Payer{OpenID: o.openID}
		t.Amount.PayerTotal = &total
	}
	return t
}

func (o *order) view() Order {
	v := Order{
		Transaction: o.transaction(),
		Description: o.description,
		NotifyURL:   o.notifyURL,
		CreateTime:  stamp(o.createdAt),
		PrepayIDs:   []string{},
	}
	if !o.timeExpire.IsZero() {
		v.TimeExpire = stamp(o.timeExpire)
	}
	for _, p := range o.prepays {
		v.PrepayIDs = append(v.PrepayIDs, p.id)
	}
	v.Refunded = o.refunded()
	return v
}

// refunded sums the refunds that hold money: all but the CLOSED ones.
func (o *order) refunded() int64 {
	var sum int64
	for _, r := range o.refunds {
		if r.status != RefundClosed {
			sum += r.amount
		}
	}
	return sum
}

// checkMchIDQuery checks the mchid query parameter the query APIs require.
func (s *Server) checkMchIDQuery(r *http.Request) *apiError {
	mchid := r.URL.Query().Get("mchid")
	if mchid == "" {
		return missing("query", "/mchid", "直连商户号")
	}
	if mchid != s.cfg.MchID {
		return &apiError{Status: http.StatusBadRequest, Code: "MCH_NOT_EXISTS", Message: "商户号不存在"}
	}
	return nil
}

func orderNotExist() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "ORDER_NOT_EXIST", Message: "订单不存在"}
}

// queryByOutTradeNo serves GET /v3/pay/transactions/out-trade-no/{no}?mchid=.
func (s *Server) queryByOutTradeNo(w http.ResponseWriter, r *http.Request, _ []byte) {
	if e := s.checkMchIDQuery(r); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("out_trade_no")]
	var t Transaction
	if ok {
		s.expire(o)
		t = o.transaction()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, orderNotExist())
		return
	}
	s.writeJSON(w, r, t)
}

// queryByTransactionID serves GET /v3/pay/transactions/id/{id}?mchid=.
// Only paid orders have a transaction id, so only they are found here.
func (s *Server) queryByTransactionID(w http.ResponseWriter, r *http.Request, _ []byte) {
	if e := s.checkMchIDQuery(r); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	o, ok := s.byTransaction[r.PathValue("transaction_id")]
	var t Transaction
	if ok {
		t = o.transaction()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, orderNotExist())
		return
	}
	s.writeJSON(w, r, t)
}

// closeOrder serves POST /v3/pay/transactions/out-trade-no/{no}/close with
// body {"mchid":…}: 204 for an unpaid order (and again for a closed one),
// ORDERPAID once paid.
func (s *Server) closeOrder(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "请求体格式错误，无法解析为JSON：" + err.Error()})
		return
	}
	if req.MchID == "" {
		// The platform reports this field under uri_template, oddly.
		writeError(w, missing("uri_template", "/mchid", "直连商户号"))
		return
	}
	if req.MchID != s.cfg.MchID {
		writeError(w, &apiError{Status: http.StatusBadRequest, Code: "MCH_NOT_EXISTS", Message: "商户号不存在"})
		return
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("out_trade_no")]
	var refuse *apiError
	switch {
	case !ok:
		refuse = orderNotExist()
	default:
		s.expire(o)
		if o.paid() {
			refuse = &apiError{Status: http.StatusBadRequest, Code: "ORDERPAID", Message: "订单已支付，不能发起关单，请当作已支付的正常交易"}
		} else {
			o.state, o.stateDesc = StateClosed, "订单已关闭"
		}
	}
	s.mu.Unlock()
	if refuse != nil {
		writeError(w, refuse)
		return
	}
	s.writeSigned(w, r, http.StatusNoContent, nil)
}

// Orders lists every order, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]*order, 0, len(s.orders))
	for _, o := range s.orders {
		all = append(all, o)
	}
	slices.SortFunc(all, func(a, b *order) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.outTradeNo, b.outTradeNo)
	})
	out := make([]Order, 0, len(all))
	for _, o := range all {
		s.expire(o)
		out = append(out, o.view())
	}
	return out
}

// Order returns one order by out_trade_no.
func (s *Server) Order(outTradeNo string) (Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		return Order{}, fmt.Errorf("%w: %s", ErrUnknownOrder, outTradeNo)
	}
	s.expire(o)
	return o.view(), nil
}
