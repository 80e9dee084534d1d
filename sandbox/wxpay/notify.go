package wxpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Delivery states of a notification.
const (
	NotifyPending   = "pending"   // being delivered or waiting for a retry
	NotifyHeld      = "held"      // held back by ReorderNext
	NotifyDropped   = "dropped"   // a Drop rule swallowed it
	NotifyDelivered = "delivered" // the merchant answered 200 or 204
	NotifyAbandoned = "abandoned" // the retry schedule ran out
	NotifyNoURL     = "no_url"    // a refund that named no notify_url
	NotifyProbe     = "probe"     // a WECHATPAY/SIGNTEST/ probe, sent once
	NotifyError     = "error"     // the platform could not build it
)

// ErrBadRule reports a NotifyRule that cannot apply.
var ErrBadRule = errors.New("wxpay: bad notification rule")

// NotifyRule is a fault the platform applies to upcoming notifications
// whose event type starts with EventType (all of them when it is empty),
// Times of them (0: until cleared).
type NotifyRule struct {
	EventType string `json:"event_type,omitempty"`
	// Drop never sends the notification.
	Drop bool `json:"drop,omitempty"`
	// Copies sends every attempt this many times at once (duplicates).
	Copies int `json:"copies,omitempty"`
	// Delay holds the first attempt back this long (real time, not scaled).
	Delay time.Duration `json:"delay,omitempty"`
	// Tamper changes one byte of the body after signing it, so that a
	// merchant that verifies rejects every attempt.
	Tamper bool `json:"tamper,omitempty"`
	Times  int  `json:"times,omitempty"`
}

// Attempt is one delivery of a notification and the merchant's answer.
type Attempt struct {
	// Number counts deliveries: 1 is the first, 2 the first retry, …
	Number int `json:"number"`
	// Copy tells duplicates of one attempt apart, from 1.
	Copy   int       `json:"copy"`
	At     time.Time `json:"at"`
	Serial string    `json:"serial"`
	// Status is the HTTP status answered, 0 when no answer came.
	Status int    `json:"status"`
	Answer string `json:"answer"`
	// OK is an answer of 200 or 204, the only ones the platform accepts.
	// For a probe it means the merchant wrongly accepted a bad signature.
	OK bool `json:"ok"`
}

// Notification is the inspection view of a notification.
type Notification struct {
	ID          string `json:"id"`
	EventType   string `json:"event_type"`
	Summary     string `json:"summary"`
	URL         string `json:"url"`
	OutTradeNo  string `json:"out_trade_no,omitempty"`
	OutRefundNo string `json:"out_refund_no,omitempty"`
	CreateTime  string `json:"create_time"`
	Status      string `json:"status"`
	Probe       bool   `json:"probe,omitempty"`
	Error       string `json:"error,omitempty"`
	// Body is the envelope as signed; Plaintext the decrypted resource.
	Body      string    `json:"body"`
	Plaintext string    `json:"plaintext"`
	Attempts  []Attempt `json:"attempts"`
}

// notice is what a notification says, before it is encrypted and sent.
type notice struct {
	eventType, summary, originalType string
	url, outTradeNo, outRefundNo     string
	resource                         any
	probe                            bool
}

type notification struct {
	notice
	id        string
	createdAt time.Time
	body      []byte
	plaintext []byte
	signer    signer
	rule      NotifyRule
	status    string
	err       string
	attempts  []Attempt
}

// envelope is the notification body, fields in the documented order.
type envelope struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	ResourceType string `json:"resource_type"`
	EventType    string `json:"event_type"`
	Summary      string `json:"summary"`
	Resource     sealed `json:"resource"`
}

func (n *notification) view() Notification {
	return Notification{
		ID:          n.id,
		EventType:   n.eventType,
		Summary:     n.summary,
		URL:         n.url,
		OutTradeNo:  n.outTradeNo,
		OutRefundNo: n.outRefundNo,
		CreateTime:  stamp(n.createdAt),
		Status:      n.status,
		Probe:       n.probe,
		Error:       n.err,
		Body:        string(n.body),
		Plaintext:   string(n.plaintext),
		Attempts:    slices.Clone(n.attempts),
	}
}

// build encrypts the resource with the APIv3 key (the associated data is
// the original type, "transaction" or "refund") and wraps it in the
// envelope. The caller holds s.mu.
func (s *Server) build(nt notice) *notification {
	n := &notification{notice: nt, id: eventID(), createdAt: s.cfg.Now(), status: NotifyPending}
	n.signer = s.notificationSigner()
	var err error
	if n.plaintext, err = json.Marshal(nt.resource); err != nil {
		n.status, n.err = NotifyError, err.Error()
		return n
	}
	res, err := seal(s.cfg.APIv3Key, nt.originalType, n.plaintext)
	if err != nil {
		n.status, n.err = NotifyError, err.Error()
		return n
	}
	res.OriginalType = nt.originalType
	if n.body, err = json.Marshal(envelope{
		ID:           n.id,
		CreateTime:   stamp(n.createdAt),
		ResourceType: "encrypt-resource",
		EventType:    nt.eventType,
		Summary:      nt.summary,
		Resource:     res,
	}); err != nil {
		n.status, n.err = NotifyError, err.Error()
	}
	return n
}

// notificationSigner picks the identity a notification is signed with.
// Migrating merchants receive both kinds ("两种签名的回调都会收到"), so
// the platform alternates. The caller holds s.mu.
func (s *Server) notificationSigner() signer {
	switch s.cfg.Mode {
	case ModePublicKey:
		return s.publicKeySigner()
	case ModeCertificate:
		return s.certSigner()
	default:
		s.migrationTurn++
		if s.migrationTurn%2 == 1 {
			return s.publicKeySigner()
		}
		return s.certSigner()
	}
}

// enqueue builds a notification and starts delivering it, subject to the
// notification rules and to ReorderNext. The caller holds s.mu.
func (s *Server) enqueue(nt notice) {
	n := s.build(nt)
	s.notifications = append(s.notifications, n)
	switch {
	case n.status == NotifyError:
		return
	case n.url == "":
		n.status = NotifyNoURL
		return
	}
	n.rule = s.takeRule(n.eventType)
	if n.rule.Drop {
		n.status = NotifyDropped
		return
	}
	if s.reorder > 0 {
		n.status = NotifyHeld
		s.held = append(s.held, n)
		if s.reorder--; s.reorder == 0 {
			s.releaseLocked()
		}
		return
	}
	s.spawn(func(ctx context.Context) { s.deliver(ctx, n, nil) })
}

// takeRule returns the first rule for eventType and uses up one of its
// times. The caller holds s.mu.
func (s *Server) takeRule(eventType string) NotifyRule {
	for i, r := range s.notifyRules {
		if !strings.HasPrefix(eventType, r.EventType) {
			continue
		}
		got := *r
		if r.Times > 0 {
			if r.Times--; r.Times == 0 {
				s.notifyRules = slices.Delete(s.notifyRules, i, i+1)
			}
		}
		return got
	}
	return NotifyRule{}
}

// deliver sends n until the merchant answers 200 or 204, waiting the
// (scaled) retry schedule between attempts, and gives up after the last.
// first, when set, is closed once the first attempt is answered.
func (s *Server) deliver(ctx context.Context, n *notification, first chan struct{}) {
	signal := func() {
		if first != nil {
			close(first)
			first = nil
		}
	}
	defer signal()
	if !sleep(ctx, n.rule.Delay) {
		return
	}
	schedule := retrySchedule()
	for number := 1; ; number++ {
		ok := s.attempt(ctx, n, number)
		signal()
		if ok || ctx.Err() != nil {
			return
		}
		if number > len(schedule) {
			s.mu.Lock()
			n.status = NotifyAbandoned
			s.mu.Unlock()
			return
		}
		if !sleep(ctx, s.cfg.scaled(schedule[number-1])) {
			return
		}
	}
}

// attempt delivers n once, as rule.Copies simultaneous copies, and reports
// whether any copy was acknowledged.
func (s *Server) attempt(ctx context.Context, n *notification, number int) bool {
	copies := max(n.rule.Copies, 1)
	results := make([]Attempt, copies)
	var wg sync.WaitGroup
	for c := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[c] = s.send(ctx, n, number, c+1)
		}()
	}
	wg.Wait()
	ok := slices.ContainsFunc(results, func(a Attempt) bool { return a.OK })
	s.mu.Lock()
	defer s.mu.Unlock()
	n.attempts = append(n.attempts, results...)
	if ok && !n.probe {
		n.status = NotifyDelivered
	}
	return ok
}

// send POSTs n once, freshly signed: every retry carries a new timestamp,
// so it stays inside the merchant's five-minute window.
func (s *Server) send(ctx context.Context, n *notification, number, copyNo int) Attempt {
	a := Attempt{Number: number, Copy: copyNo, At: time.Now(), Serial: n.signer.serial}
	h, err := s.signedHeaders(n.signer, n.body, n.probe)
	if err != nil {
		a.Answer = err.Error()
		return a
	}
	body := n.body
	if n.rule.Tamper {
		body = tamper(body)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		a.Answer = err.Error()
		return a
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		a.Answer = err.Error()
		return a
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	a.Status = resp.StatusCode
	a.Answer = string(answer)
	if err != nil {
		a.Answer += " (" + err.Error() + ")"
	}
	a.OK = resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent
	return a
}

// tamper changes one byte of body: the first character of the ciphertext,
// to another base64 character, so the body stays valid JSON.
func tamper(body []byte) []byte {
	out := bytes.Clone(body)
	marker := []byte(`"ciphertext":"`)
	i := bytes.Index(out, marker) + len(marker)
	if i < len(marker) || i >= len(out) {
		return out
	}
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// Notifications lists every notification, oldest first, with every
// attempt and the merchant's answer to it.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, 0, len(s.notifications))
	for _, n := range s.notifications {
		out = append(out, n.view())
	}
	return out
}

// Probe sends the order's notify_url one TRANSACTION.SUCCESS notification
// whose Wechatpay-Signature starts with WECHATPAY/SIGNTEST/, as WeChat Pay
// does to check that merchants verify signatures. Its resource is properly
// encrypted and claims success even for an unpaid order, so only a
// merchant that checks the signature refuses it. The probe is not retried;
// the returned view has the merchant's answer.
func (s *Server) Probe(outTradeNo string) (Notification, error) {
	s.mu.Lock()
	o, ok := s.orders[outTradeNo]
	if !ok {
		s.mu.Unlock()
		return Notification{}, fmt.Errorf("%w: %s", ErrUnknownOrder, outTradeNo)
	}
	s.expire(o)
	t := o.transaction()
	if !o.paid() {
		now := s.cfg.Now()
		total := o.total
		t.TradeState, t.TradeStateDesc = StateSuccess, "支付成功"
		t.TransactionID, t.TradeType, t.BankType = transactionID(now), "JSAPI", "OTHERS"
		t.SuccessTime, t.Payer, t.Amount.PayerTotal = stamp(now), &Payer{OpenID: o.openID}, &total
	}
	n := s.build(notice{
		eventType:    "TRANSACTION.SUCCESS",
		summary:      "支付成功",
		originalType: "transaction",
		url:          o.notifyURL,
		outTradeNo:   o.outTradeNo,
		resource:     t,
		probe:        true,
	})
	s.notifications = append(s.notifications, n)
	if n.status == NotifyError {
		v := n.view()
		s.mu.Unlock()
		return v, fmt.Errorf("wxpay: build probe: %s", v.Error)
	}
	n.status = NotifyProbe
	s.mu.Unlock()

	a := s.send(s.ctx, n, 1, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	n.attempts = append(n.attempts, a)
	return n.view(), nil
}
