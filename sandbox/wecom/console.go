package wecom

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Console returns the sandbox's own JSON endpoints: the shopper's phone
// actions, the callback settings, the fault rules and the inspection lists.
//
//	POST /scan-join-way    {"config_id","unionid","name"}  → Membership
//	POST /add-contact      {"config_id","unionid","name"}  → ContactAdded
//	POST /leave-group      {"chat_id","unionid"}           → Membership
//	GET  /callback                                         → Callback
//	POST /callback         {"url","token","encoding_aes_key"} → Callback
//	POST /verify-callback                                  → Verification
//	POST /expire-tokens                                    → 204
//	GET  /messages | /deliveries | /groups | /contacts | /join-ways | /contact-ways | /tags
//	GET|POST|DELETE /faults                                (fault.Set)
//
// Errors answer {"error":{"code","message"}} with 400, 404 or 409.
func (s *Server) Console() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scan-join-way", s.consoleScanJoinWay)
	mux.HandleFunc("POST /add-contact", s.consoleAddContact)
	mux.HandleFunc("POST /leave-group", s.consoleLeaveGroup)
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.CallbackConfig())
	})
	mux.HandleFunc("POST /callback", s.consoleSetCallback)
	mux.HandleFunc("POST /verify-callback", s.consoleVerifyCallback)
	mux.HandleFunc("POST /expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.Messages())
	})
	mux.HandleFunc("GET /deliveries", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.Deliveries())
	})
	mux.HandleFunc("GET /groups", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.Groups())
	})
	mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.Contacts())
	})
	mux.HandleFunc("GET /join-ways", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.JoinWays())
	})
	mux.HandleFunc("GET /contact-ways", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.ContactWays())
	})
	mux.HandleFunc("GET /tags", func(w http.ResponseWriter, r *http.Request) {
		writeConsole(w, http.StatusOK, s.TagGroups())
	})
	mux.Handle("/faults", s.faults.Handler())
	return mux
}

// phoneRequest is the body of the phone actions.
type phoneRequest struct {
	ConfigID string `json:"config_id"`
	ChatID   string `json:"chat_id"`
	UnionID  string `json:"unionid"`
	Name     string `json:"name"`
	Avatar   string `json:"avatar"`
}

func (p phoneRequest) person() Person {
	return Person{UnionID: p.UnionID, Name: p.Name, Avatar: p.Avatar}
}

func (s *Server) consoleScanJoinWay(w http.ResponseWriter, r *http.Request) {
	var req phoneRequest
	if !readConsole(w, r, &req) {
		return
	}
	m, err := s.ScanJoinWay(req.ConfigID, req.person())
	answerConsole(w, m, err)
}

func (s *Server) consoleAddContact(w http.ResponseWriter, r *http.Request) {
	var req phoneRequest
	if !readConsole(w, r, &req) {
		return
	}
	c, err := s.AddContact(req.ConfigID, req.person())
	answerConsole(w, c, err)
}

func (s *Server) consoleLeaveGroup(w http.ResponseWriter, r *http.Request) {
	var req phoneRequest
	if !readConsole(w, r, &req) {
		return
	}
	m, err := s.LeaveGroup(req.ChatID, req.UnionID)
	answerConsole(w, m, err)
}

func (s *Server) consoleSetCallback(w http.ResponseWriter, r *http.Request) {
	var cb Callback
	if !readConsole(w, r, &cb) {
		return
	}
	if err := s.SetCallback(cb); err != nil {
		answerConsole(w, nil, err)
		return
	}
	writeConsole(w, http.StatusOK, s.CallbackConfig())
}

func (s *Server) consoleVerifyCallback(w http.ResponseWriter, r *http.Request) {
	v, err := s.VerifyCallback(r.Context())
	answerConsole(w, v, err)
}

// readConsole decodes a console request body, answering 400 when it is not JSON.
func readConsole(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeConsoleError(w, http.StatusBadRequest, "invalid_json", "the body must be a JSON object")
		return false
	}
	return true
}

// answerConsole answers v, or err mapped to a status.
func answerConsole(w http.ResponseWriter, v any, err error) {
	if err == nil {
		writeConsole(w, http.StatusOK, v)
		return
	}
	status, code := http.StatusBadRequest, "invalid_request"
	switch {
	case errors.Is(err, ErrUnknownJoinWay), errors.Is(err, ErrUnknownContactWay), errors.Is(err, ErrUnknownGroup):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, ErrAlreadyMember), errors.Is(err, ErrAlreadyContact), errors.Is(err, ErrNotMember):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, ErrNoCallback):
		status, code = http.StatusConflict, "no_callback"
	case errors.Is(err, ErrInvalidCallback), errors.Is(err, ErrInvalidPerson):
		status, code = http.StatusBadRequest, "invalid_request"
	}
	writeConsoleError(w, status, code, err.Error())
}

func writeConsole(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeConsoleError(w http.ResponseWriter, status int, code, message string) {
	writeConsole(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
