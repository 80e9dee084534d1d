package wxpay

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrBadPaySign reports wx.requestPayment parameters whose paySign does
// not verify, or that are not shaped as the mini-program must pass them.
var ErrBadPaySign = errors.New("wxpay: bad requestPayment parameters")

// PayRequest is what the mini-program passes to wx.requestPayment, plus the
// shopper's choice on the cashier: Action is "confirm" (pay, the default),
// "cancel" (close the cashier) or "fail" (the payment fails, PAYERROR).
type PayRequest struct {
	PrepayID  string `json:"prepay_id,omitempty"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
	Action    string `json:"action,omitempty"`
}

// PayResult is what wx.requestPayment reports back to the mini-program,
// with the transaction as the platform now sees it.
type PayResult struct {
	ErrMsg      string       `json:"errMsg"`
	Transaction *Transaction `json:"transaction,omitempty"`
}

// VerifyPaySign checks wx.requestPayment parameters as WeChat does before
// it opens the cashier: signType RSA, package "prepay_id=…" naming a known
// prepay_id, and paySign a SHA256withRSA signature by the merchant's key
// over appId\ntimeStamp\nnonceStr\npackage\n, where appId is the order's
// (the mini-program calling requestPayment). It returns the prepay_id.
func (s *Server) VerifyPaySign(p PayRequest) (string, error) {
	if p.SignType != "RSA" {
		return "", fmt.Errorf("%w: signType must be RSA, not %q", ErrBadPaySign, p.SignType)
	}
	id, ok := strings.CutPrefix(p.Package, "prepay_id=")
	if !ok || id == "" {
		return "", fmt.Errorf("%w: package must be prepay_id=…, not %q", ErrBadPaySign, p.Package)
	}
	if p.PrepayID != "" && p.PrepayID != id {
		return "", fmt.Errorf("%w: prepay_id %q and package %q disagree", ErrBadPaySign, p.PrepayID, p.Package)
	}
	if p.TimeStamp == "" || strings.IndexFunc(p.TimeStamp, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return "", fmt.Errorf("%w: timeStamp must be seconds since the epoch, not %q", ErrBadPaySign, p.TimeStamp)
	}
	if p.NonceStr == "" || len(p.NonceStr) > 32 {
		return "", fmt.Errorf("%w: nonceStr must be 1 to 32 characters", ErrBadPaySign)
	}
	s.mu.Lock()
	o, ok := s.byPrepay[id]
	var appID string
	if ok {
		appID = o.appID
	}
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownPrepay, id)
	}
	message := appID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"
	if err := verifySHA256(&s.keys.MerchantKey.PublicKey, message, p.PaySign); err != nil {
		return "", fmt.Errorf("%w: paySign: %w", ErrBadPaySign, err)
	}
	return id, nil
}

// Pay is the shopper's phone: it verifies the requestPayment parameters,
// then pays, cancels or fails as p.Action says.
func (s *Server) Pay(p PayRequest) (PayResult, error) {
	id, err := s.VerifyPaySign(p)
	if err != nil {
		return PayResult{ErrMsg: "requestPayment:fail " + err.Error()}, err
	}
	switch p.Action {
	case "", "confirm":
		t, err := s.ConfirmPayment(id)
		if err != nil {
			return PayResult{ErrMsg: "requestPayment:fail " + err.Error()}, err
		}
		return PayResult{ErrMsg: "requestPayment:ok", Transaction: &t}, nil
	case "cancel":
		if err := s.CancelPayment(id); err != nil {
			return PayResult{ErrMsg: "requestPayment:fail " + err.Error()}, err
		}
		return PayResult{ErrMsg: "requestPayment:fail cancel"}, nil
	case "fail":
		t, err := s.FailPayment(id)
		if err != nil {
			return PayResult{ErrMsg: "requestPayment:fail " + err.Error()}, err
		}
		return PayResult{ErrMsg: "requestPayment:fail", Transaction: &t}, nil
	default:
		err := fmt.Errorf("%w: action must be confirm, cancel or fail, not %q", ErrBadPaySign, p.Action)
		return PayResult{ErrMsg: "requestPayment:fail " + err.Error()}, err
	}
}

// payable finds the order a prepay_id pays and checks it can still be
// paid. The caller holds s.mu.
func (s *Server) payable(prepayID string) (*order, error) {
	o, ok := s.byPrepay[prepayID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPrepay, prepayID)
	}
	now := s.cfg.Now()
	s.expire(o)
	switch {
	case o.paid():
		return nil, fmt.Errorf("%w: %s", ErrPaid, o.outTradeNo)
	case o.state == StateClosed:
		return nil, fmt.Errorf("%w: %s", ErrClosed, o.outTradeNo)
	case !o.timeExpire.IsZero() && now.After(o.timeExpire):
		return nil, fmt.Errorf("%w: %s expired at %s", ErrPastDeadline, o.outTradeNo, stamp(o.timeExpire))
	}
	for _, p := range o.prepays {
		if p.id == prepayID && now.Sub(p.issued) > prepayLifetime {
			return nil, fmt.Errorf("%w: %s", ErrPrepayExpired, prepayID)
		}
	}
	return o, nil
}

// ConfirmPayment is the shopper paying in the cashier wx.requestPayment
// opened: the order becomes SUCCESS with a transaction_id, success_time,
// payer and payer_total, and the TRANSACTION.SUCCESS notification starts
// towards its notify_url.
func (s *Server) ConfirmPayment(prepayID string) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.payable(prepayID)
	if err != nil {
		return Transaction{}, err
	}
	now := s.cfg.Now()
	o.state, o.stateDesc = StateSuccess, "支付成功"
	o.txID = transactionID(now)
	o.successAt = now
	s.byTransaction[o.txID] = o
	t := o.transaction()
	s.enqueue(notice{
		eventType:    "TRANSACTION.SUCCESS",
		summary:      "支付成功",
		originalType: "transaction",
		url:          o.notifyURL,
		outTradeNo:   o.outTradeNo,
		resource:     t,
	})
	return t, nil
}

// CancelPayment is the shopper closing the cashier without paying; the
// order stays as it was (NOTPAY), as on the real platform.
func (s *Server) CancelPayment(prepayID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.payable(prepayID)
	return err
}

// FailPayment is a payment that fails in the cashier (a declined card):
// the order becomes PAYERROR and can still be paid again.
func (s *Server) FailPayment(prepayID string) (Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.payable(prepayID)
	if err != nil {
		return Transaction{}, err
	}
	o.state, o.stateDesc = StatePayError, "支付失败，请重新下单支付"
	return o.transaction(), nil
}
