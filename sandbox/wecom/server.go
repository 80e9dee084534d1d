package wecom

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/siyu-live/siyu/sandbox/fault"
)

// Server is the WeCom stand-in: the platform API (ServeHTTP), the shopper's
// phone and inspection lists (Console and the Go methods behind it), and the
// callbacks it sends to Siyu. It is safe for concurrent use.
type Server struct {
	cfg    Config
	faults *fault.Set
	api    http.Handler
	routes map[string]http.HandlerFunc // API paths that need an access_token

	randMu sync.Mutex // guards cfg.Random, which need not be safe for concurrent use

	mu          sync.Mutex
	staff       map[string]Staff
	staffOrder  []string
	tagGroups   []TagGroup
	tags        map[string]tagRef
	tokens      map[string]time.Time // access_token → expiry
	current     string               // the token gettoken hands out while it is valid
	people      map[string]*person   // external_userid → person
	groups      map[string]*group
	groupOrder  []string
	joinWays    map[string]*JoinWay
	contactWays map[string]*ContactWay
	messages    []Message
	deliveries  []*Delivery
	callback    Callback

	// Deliveries run one after another in the order their events happened;
	// lastDone is closed when the newest one has finished.
	ctx      context.Context
	cancel   context.CancelFunc
	lastDone chan struct{}
}

// New builds a sandbox corp from cfg.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	close(done)
	s := &Server{
		cfg:         cfg,
		faults:      &fault.Set{},
		staff:       map[string]Staff{},
		tags:        map[string]tagRef{},
		tokens:      map[string]time.Time{},
		people:      map[string]*person{},
		groups:      map[string]*group{},
		joinWays:    map[string]*JoinWay{},
		contactWays: map[string]*ContactWay{},
		callback:    cfg.Callback,
		ctx:         ctx,
		cancel:      cancel,
		lastDone:    done,
	}
	if err := s.seed(); err != nil {
		cancel()
		return nil, err
	}
	if err := validateCallback(cfg.Callback); err != nil {
		cancel()
		return nil, err
	}
	s.routes = s.handlers()
	s.api = s.faults.Middleware(http.HandlerFunc(s.route))
	return s, nil
}

// seed loads staff, tags and groups from the config.
func (s *Server) seed() error {
	for _, st := range s.cfg.Staff {
		if st.UserID == "" {
			return fmt.Errorf("%w: a staff member needs a userid", ErrInvalidConfig)
		}
		if _, dup := s.staff[st.UserID]; dup {
			return fmt.Errorf("%w: staff %q listed twice", ErrInvalidConfig, st.UserID)
		}
		s.staff[st.UserID] = st
		s.staffOrder = append(s.staffOrder, st.UserID)
	}
	if err := s.seedTags(); err != nil {
		return err
	}
	created := s.now().Add(-30 * 24 * time.Hour).Unix()
	for i, g := range s.cfg.Groups {
		if err := s.seedGroup(i, g, created); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves the platform API at its real paths (/cgi-bin/...), with
// the fault rules installed through Console's /faults applied first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.api.ServeHTTP(w, r)
}

// Faults returns the fault rules applied to the platform API.
func (s *Server) Faults() *fault.Set { return s.faults }

// Settings returns what Siyu needs to talk to this corp, as environment
// variable name → value.
func (s *Server) Settings() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{
		"WECOM_CORP_ID":          s.cfg.CorpID,
		"WECOM_CORP_SECRET":      s.cfg.CorpSecret,
		"WECOM_AGENT_ID":         s.cfg.AgentID,
		"WECOM_CALLBACK_TOKEN":   s.callback.Token,
		"WECOM_CALLBACK_AES_KEY": s.callback.EncodingAESKey,
	}
}

// Close stops callback deliveries that are still retrying and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.mu.Lock()
	done := s.lastDone
	s.mu.Unlock()
	<-done
}

// now is the sandbox clock.
func (s *Server) now() time.Time { return s.cfg.Now() }

// route dispatches an API request to the handler of its path. Unknown paths
// answer 404 with an empty body, as qyapi.weixin.qq.com does.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/cgi-bin/gettoken" {
		s.getToken(w, r)
		return
	}
	h, ok := s.routes[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err := s.checkToken(r.URL.Query().Get("access_token")); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	h(w, r)
}

// handlers maps each API path that needs an access_token to its handler.
func (s *Server) handlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"/cgi-bin/externalcontact/get_follow_user_list":      s.getFollowUserList,
		"/cgi-bin/externalcontact/list":                      s.listExternalContacts,
		"/cgi-bin/externalcontact/get":                       s.getExternalContact,
		"/cgi-bin/externalcontact/get_corp_tag_list":         s.getCorpTagList,
		"/cgi-bin/externalcontact/mark_tag":                  s.markTag,
		"/cgi-bin/externalcontact/add_contact_way":           s.addContactWay,
		"/cgi-bin/externalcontact/get_contact_way":           s.getContactWay,
		"/cgi-bin/externalcontact/del_contact_way":           s.delContactWay,
		"/cgi-bin/externalcontact/groupchat/list":            s.listGroupChats,
		"/cgi-bin/externalcontact/groupchat/get":             s.getGroupChat,
		"/cgi-bin/externalcontact/groupchat/add_join_way":    s.addJoinWay,
		"/cgi-bin/externalcontact/groupchat/get_join_way":    s.getJoinWay,
		"/cgi-bin/externalcontact/groupchat/update_join_way": s.updateJoinWay,
		"/cgi-bin/externalcontact/groupchat/del_join_way":    s.delJoinWay,
		"/cgi-bin/externalcontact/add_msg_template":          s.addMsgTemplate,
	}
}
