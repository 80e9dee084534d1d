package wecom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WeCom's callback rules (接收消息与事件): an event is POSTed to the callback
// URL; an HTTP 200 within five seconds is success; no answer in five seconds
// or any other status is a failure and the request is sent again, three times
// in all ("五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次"). The
// URL verification GET must be answered within one second with the decrypted
// echostr, exactly. WeCom does not document a pause between retries, so a
// retry follows the failed attempt at once.
const (
	eventTimeout  = 5 * time.Second
	verifyTimeout = 1 * time.Second
	eventRetries  = 3
	maxAnswerSize = 64 << 10
)

// Delivery statuses.
const (
	DeliveryPending    = "pending"
	DeliveryDelivered  = "delivered"
	DeliveryFailed     = "failed"
	DeliveryCanceled   = "canceled"
	DeliveryNoCallback = "no_callback"
	DeliveryVerified   = "verified"
)

// Delivery is one callback sent to Siyu, or attempted: an event, or a URL
// verification. It records what was sent and every answer.
type Delivery struct {
	ID           int       `json:"id"`
	Kind         string    `json:"kind"` // "event" or "verify_url"
	Event        string    `json:"event,omitempty"`
	ChangeType   string    `json:"change_type,omitempty"`
	UpdateDetail string    `json:"update_detail,omitempty"`
	Plaintext    string    `json:"plaintext"` // the event XML, or the echostr plaintext
	Method       string    `json:"method"`
	URL          string    `json:"url"`            // with msg_signature, timestamp, nonce (and echostr)
	Body         string    `json:"body,omitempty"` // the encrypted envelope POSTed
	Status       string    `json:"status"`
	Attempts     []Attempt `json:"attempts"`
	CreatedAt    time.Time `json:"created_at"`
}

// Attempt is one request of a delivery and Siyu's answer to it.
type Attempt struct {
	At         time.Time     `json:"at"`
	StatusCode int           `json:"status_code,omitempty"`
	Answer     string        `json:"answer,omitempty"`
	Error      string        `json:"error,omitempty"`
	Elapsed    time.Duration `json:"elapsed"`
}

// SetCallback changes where and how events are sent, as Siyu does when it
// registers its callback URL.
func (s *Server) SetCallback(cb Callback) error {
	if cb.URL != "" {
		u, err := url.Parse(cb.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: url must be an absolute http(s) URL", ErrInvalidCallback)
		}
	}
	if err := validateCallback(cb); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callback = cb
	return nil
}

// CallbackConfig returns the current callback configuration.
func (s *Server) CallbackConfig() Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callback
}

// Deliveries lists every callback delivery, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, 0, len(s.deliveries))
	for _, d := range s.deliveries {
		c := *d
		c.Attempts = slices.Clone(d.Attempts)
		out = append(out, c)
	}
	return out
}

// Flush waits until every event delivery queued so far has finished (been
// answered or given up), or ctx ends.
func (s *Server) Flush(ctx context.Context) error {
	s.mu.Lock()
	done := s.lastDone
	s.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wecom: flush deliveries: %w", ctx.Err())
	}
}

// signedURL appends the signature parameters to the callback URL.
func signedURL(base string, params map[string]string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidCallback, err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// enqueueEvent encrypts an event for the current callback and queues its
// delivery behind the ones before it. It needs s.mu.
func (s *Server) enqueueEvent(event, changeType, updateDetail, plaintext string) {
	d := &Delivery{
		ID: len(s.deliveries) + 1, Kind: "event", Event: event, ChangeType: changeType, UpdateDetail: updateDetail,
		Plaintext: plaintext, Method: http.MethodPost, Status: DeliveryPending, Attempts: []Attempt{}, CreatedAt: s.now(),
	}
	s.deliveries = append(s.deliveries, d)
	cb := s.callback
	if cb.URL == "" {
		// WeCom sends nothing when no callback is configured; the record
		// shows the event would have been sent.
		d.Status = DeliveryNoCallback
		return
	}
	body, target, err := s.sealEvent(cb, plaintext)
	if err != nil {
		d.Status = DeliveryFailed
		d.Attempts = append(d.Attempts, Attempt{At: s.now(), Error: err.Error()})
		return
	}
	d.URL, d.Body = target, body
	prev, done := s.lastDone, make(chan struct{})
	s.lastDone = done
	go func() {
		defer close(done)
		<-prev
		s.deliver(d, target, body)
	}()
}

// sealEvent builds the encrypted envelope and the signed URL for an event.
func (s *Server) sealEvent(cb Callback, plaintext string) (body, target string, err error) {
	key, err := aesKey(cb.EncodingAESKey)
	if err != nil {
		return "", "", err
	}
	encrypted, err := encrypt(key, s.random(16), plaintext, s.cfg.CorpID)
	if err != nil {
		return "", "", err
	}
	env, err := marshalEvent(envelope{
		ToUserName: cdata{s.cfg.CorpID}, Encrypt: cdata{encrypted}, AgentID: cdata{s.cfg.AgentID},
	})
	if err != nil {
		return "", "", err
	}
	ts, nonce := strconv.FormatInt(s.now().Unix(), 10), s.randomDigits(10)
	target, err = signedURL(cb.URL, map[string]string{
		"msg_signature": signature(cb.Token, ts, nonce, encrypted), "timestamp": ts, "nonce": nonce,
	})
	return env, target, err
}

// deliver POSTs an event until Siyu answers 200 in time or the retries run
// out. Every retry repeats the same request, signature included.
func (s *Server) deliver(d *Delivery, target, body string) {
	timeout := s.scaled(eventTimeout)
	for range 1 + eventRetries {
		if s.ctx.Err() != nil {
			s.finish(d, DeliveryCanceled)
			return
		}
		a := s.send(s.ctx, http.MethodPost, target, body, timeout)
		s.mu.Lock()
		d.Attempts = append(d.Attempts, a)
		s.mu.Unlock()
		if a.Error == "" && a.StatusCode == http.StatusOK {
			s.finish(d, DeliveryDelivered)
			return
		}
	}
	s.finish(d, DeliveryFailed)
}

func (s *Server) finish(d *Delivery, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.Status = status
}

// send makes one request to Siyu with its own deadline and reads the answer.
func (s *Server) send(parent context.Context, method, target, body string, timeout time.Duration) Attempt {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	a := Attempt{At: s.now()}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/xml")
	}
	resp, err := s.cfg.CallbackClient.Do(req)
	if err == nil {
		var answer []byte
		answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerSize))
		resp.Body.Close()
		a.StatusCode, a.Answer = resp.StatusCode, string(answer)
	}
	a.Elapsed = time.Since(start)
	if err != nil {
		a.StatusCode = 0
		if errors.Is(err, context.DeadlineExceeded) {
			a.Error = fmt.Sprintf("no answer within %s", timeout)
		} else {
			a.Error = err.Error()
		}
	}
	return a
}

// scaled applies Config.TimeScale to one of WeCom's timeouts.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.cfg.TimeScale)
}

// Verification is the outcome of a URL verification (验证URL有效性).
type Verification struct {
	OK         bool   `json:"ok"`
	URL        string `json:"url"`
	Expected   string `json:"expected"` // the echostr plaintext Siyu must answer
	StatusCode int    `json:"status_code,omitempty"`
	Answer     string `json:"answer"`
	Error      string `json:"error,omitempty"`
	DeliveryID int    `json:"delivery_id"`
}

// VerifyCallback does what WeCom does when the callback URL is saved: it GETs
// the URL with msg_signature, timestamp, nonce and an encrypted echostr, and
// checks that Siyu answers 200 within a second with the decrypted echostr,
// exactly (no quotes, BOM or newline).
func (s *Server) VerifyCallback(ctx context.Context) (Verification, error) {
	cb := s.CallbackConfig()
	if cb.URL == "" {
		return Verification{}, ErrNoCallback
	}
	key, err := aesKey(cb.EncodingAESKey)
	if err != nil {
		return Verification{}, err
	}
	echo := s.randomDigits(19)
	echostr, err := encrypt(key, s.random(16), echo, s.cfg.CorpID)
	if err != nil {
		return Verification{}, err
	}
	ts, nonce := strconv.FormatInt(s.now().Unix(), 10), s.randomDigits(10)
	target, err := signedURL(cb.URL, map[string]string{
		"msg_signature": signature(cb.Token, ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr,
	})
	if err != nil {
		return Verification{}, err
	}
	s.mu.Lock()
	d := &Delivery{
		ID: len(s.deliveries) + 1, Kind: "verify_url", Plaintext: echo, Method: http.MethodGet, URL: target,
		Status: DeliveryPending, Attempts: []Attempt{}, CreatedAt: s.now(),
	}
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()

	a := s.send(ctx, http.MethodGet, target, "", s.scaled(verifyTimeout))
	v := Verification{
		OK: a.Error == "" && a.StatusCode == http.StatusOK && a.Answer == echo, URL: target, Expected: echo,
		StatusCode: a.StatusCode, Answer: a.Answer, Error: a.Error, DeliveryID: d.ID,
	}
	if v.Error == "" && !v.OK {
		v.Error = "the answer is not the decrypted echostr"
	}
	status := DeliveryFailed
	if v.OK {
		status = DeliveryVerified
	}
	s.mu.Lock()
	d.Attempts = append(d.Attempts, a)
	d.Status = status
	s.mu.Unlock()
	return v, nil
}
