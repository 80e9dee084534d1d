package wxpay

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Console serves the sandbox's own JSON endpoints: the shopper's phone,
// refund outcomes, notification faults, API faults and inspection lists.
// Errors answer {"error":{"code":…,"message":…}}.
func (s *Server) Console() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/faults", s.faults.Handler())
	mux.HandleFunc("GET /credentials", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.Credentials())
	})
	mux.HandleFunc("GET /settings", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.Settings())
	})
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.Orders())
	})
	mux.HandleFunc("GET /orders/{out_trade_no}", func(w http.ResponseWriter, r *http.Request) {
		o, err := s.Order(r.PathValue("out_trade_no"))
		consoleAnswer(w, o, err)
	})
	mux.HandleFunc("POST /pay", s.consolePay)
	mux.HandleFunc("POST /prepays/{prepay_id}/confirm", func(w http.ResponseWriter, r *http.Request) {
		t, err := s.ConfirmPayment(r.PathValue("prepay_id"))
		consoleAnswer(w, t, err)
	})
	mux.HandleFunc("POST /prepays/{prepay_id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		err := s.CancelPayment(r.PathValue("prepay_id"))
		consoleAnswer(w, map[string]string{"errMsg": "requestPayment:fail cancel"}, err)
	})
	mux.HandleFunc("POST /prepays/{prepay_id}/fail", func(w http.ResponseWriter, r *http.Request) {
		t, err := s.FailPayment(r.PathValue("prepay_id"))
		consoleAnswer(w, t, err)
	})
	mux.HandleFunc("GET /refunds", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.Refunds())
	})
	mux.HandleFunc("GET /refunds/{out_refund_no}", func(w http.ResponseWriter, r *http.Request) {
		rf, err := s.Refund(r.PathValue("out_refund_no"))
		consoleAnswer(w, rf, err)
	})
	mux.HandleFunc("POST /refunds/{out_refund_no}/settle", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
		}
		if !decode(w, r, &body) {
			return
		}
		rf, err := s.SettleRefund(r.PathValue("out_refund_no"), body.Status)
		consoleAnswer(w, rf, err)
	})
	mux.HandleFunc("GET /notifications", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.Notifications())
	})
	mux.HandleFunc("POST /notifications/probe", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			OutTradeNo string `json:"out_trade_no"`
		}
		if !decode(w, r, &body) {
			return
		}
		n, err := s.Probe(body.OutTradeNo)
		consoleAnswer(w, n, err)
	})
	mux.HandleFunc("POST /notifications/release", func(w http.ResponseWriter, _ *http.Request) {
		s.ReleaseHeld()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /notify-faults", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.NotifyRules())
	})
	mux.HandleFunc("POST /notify-faults", func(w http.ResponseWriter, r *http.Request) {
		var rule NotifyRule
		if !decode(w, r, &rule) {
			return
		}
		if err := s.AddNotifyRule(rule); err != nil {
			consoleAnswer(w, nil, err)
			return
		}
		consoleJSON(w, http.StatusCreated, rule)
	})
	mux.HandleFunc("DELETE /notify-faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearNotifyRules()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /notify-faults/reorder", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Count int `json:"count"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.ReorderNext(body.Count)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /response-probes", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Count int `json:"count"`
		}
		if !decode(w, r, &body) {
			return
		}
		s.ProbeResponses(body.Count)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// consolePay is wx.requestPayment: it verifies the parameters before it
// acts and answers with the errMsg the mini-program would see.
func (s *Server) consolePay(w http.ResponseWriter, r *http.Request) {
	var p PayRequest
	if !decode(w, r, &p) {
		return
	}
	res, err := s.Pay(p)
	if err != nil {
		status, code := consoleError(err)
		consoleJSON(w, status, map[string]any{
			"errMsg": res.ErrMsg,
			"error":  map[string]string{"code": code, "message": err.Error()},
		})
		return
	}
	consoleJSON(w, http.StatusOK, res)
}

// consoleError maps the package's sentinel errors to a status and code.
func consoleError(err error) (int, string) {
	for _, m := range []struct {
		err    error
		status int
		code   string
	}{
		{ErrUnknownOrder, http.StatusNotFound, "unknown_order"},
		{ErrUnknownPrepay, http.StatusNotFound, "unknown_prepay"},
		{ErrUnknownRefund, http.StatusNotFound, "unknown_refund"},
		{ErrPrepayExpired, http.StatusConflict, "prepay_expired"},
		{ErrPaid, http.StatusConflict, "order_paid"},
		{ErrClosed, http.StatusConflict, "order_closed"},
		{ErrPastDeadline, http.StatusConflict, "past_time_expire"},
		{ErrRefundFinal, http.StatusConflict, "refund_final"},
		{ErrBadPaySign, http.StatusBadRequest, "bad_pay_sign"},
		{ErrBadStatus, http.StatusBadRequest, "bad_status"},
		{ErrBadRule, http.StatusBadRequest, "bad_rule"},
	} {
		if errors.Is(err, m.err) {
			return m.status, m.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

func consoleAnswer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status, code := consoleError(err)
		consoleJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
		return
	}
	consoleJSON(w, http.StatusOK, v)
}

func consoleJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, answering 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		consoleJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "bad_json", "message": err.Error()}})
		return false
	}
	return true
}
