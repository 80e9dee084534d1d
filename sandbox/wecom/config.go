package wecom

import (
	"crypto/rand"
	"io"
	"net/http"
	"time"
)

// Config seeds the stand-in corp. Every field has a default, so Config{} is a
// working sandbox.
type Config struct {
	// CorpID is the corp id ("ww" + 16 hex digits on the real platform).
	CorpID string
	// CorpSecret is the secret of the self-built app configured for 客户联系.
	CorpSecret string
	// AgentID is that app's agent id; callbacks carry it in <AgentID>.
	AgentID string
	// Staff are the corp members who have 客户联系 enabled.
	Staff []Staff
	// TagGroups is the corp's customer tag library (企业客户标签).
	TagGroups []TagGroup
	// Groups are the customer groups (客户群) that exist at start.
	Groups []GroupSeed
	// Callback is the callback configuration at start; Siyu usually
	// registers its URL at runtime through SetCallback.
	Callback Callback
	// TokenTTL is how long an access_token lives (7200 s on WeCom).
	TokenTTL time.Duration
	// TimeScale multiplies WeCom's callback timeouts (5 s for events, 1 s for
	// URL verification) so tests can exercise retries quickly; 1 is real time.
	TimeScale float64
	// Now is the sandbox clock; it defaults to time.Now.
	Now func() time.Time
	// Random is the source of every random id, token and nonce; it defaults
	// to crypto/rand.Reader. Tests pass a deterministic reader for golden files.
	Random io.Reader
	// CallbackClient sends callbacks to Siyu; it defaults to a fresh client
	// (each attempt has its own deadline).
	CallbackClient *http.Client
}

// Staff is a corp member (成员) who can own groups and follow customers.
type Staff struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
}

// TagGroup is a group of customer tags (标签组).
type TagGroup struct {
	ID   string `json:"group_id"`
	Name string `json:"group_name"`
	Tags []Tag  `json:"tag"`
}

// Tag is one customer tag in the library.
type Tag struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// GroupSeed is a customer group that exists when the sandbox starts. Its
// owner and staff members must be in Config.Staff.
type GroupSeed struct {
	ChatID  string   `json:"chat_id"`
	Name    string   `json:"name"`
	Owner   string   `json:"owner"`
	Notice  string   `json:"notice"`
	Admins  []string `json:"admins"`
	Members []string `json:"members"` // staff besides the owner
}

// Callback is the receiving-message configuration of the app (接收消息服务器
// 配置): where WeCom posts events and the secrets that sign and encrypt them.
type Callback struct {
	URL            string `json:"url"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
}

// Defaults used when Config leaves a field empty.
const (
	DefaultCorpID         = "ww5e1d0c5a9b7f3e21"
	DefaultCorpSecret     = "sandbox-corp-secret-7Q2xL9vK3mN8pR4tW6yZ1bC5dF0gH"
	DefaultAgentID        = "1000002"
	DefaultCallbackToken  = "SiyuSandboxToken"
	DefaultCallbackAESKey = "c2l5dXNhbmRib3hlbmNvZGluZ2Flc2tleTAxMjM0NTY"
	defaultTokenTTL       = 7200 * time.Second
)

func (c Config) withDefaults() Config {
	if c.CorpID == "" {
		c.CorpID = DefaultCorpID
	}
	if c.CorpSecret == "" {
		c.CorpSecret = DefaultCorpSecret
	}
	if c.AgentID == "" {
		c.AgentID = DefaultAgentID
	}
	if len(c.Staff) == 0 {
		c.Staff = []Staff{
			{UserID: "zhangsan", Name: "张三"},
			{UserID: "lisi", Name: "李四"},
			{UserID: "wangwu", Name: "王五"},
		}
	}
	if len(c.TagGroups) == 0 {
		c.TagGroups = []TagGroup{
			{Name: "来源", Tags: []Tag{{Name: "直播间"}, {Name: "朋友推荐"}}},
			{Name: "客户等级", Tags: []Tag{{Name: "新客"}, {Name: "复购"}}},
		}
	}
	if len(c.Groups) == 0 {
		c.Groups = []GroupSeed{
			{Name: "直播福利1群", Owner: c.Staff[0].UserID, Notice: "欢迎来到直播福利群"},
			{Name: "直播福利2群", Owner: c.Staff[0].UserID},
		}
	}
	if c.Callback.Token == "" {
		c.Callback.Token = DefaultCallbackToken
	}
	if c.Callback.EncodingAESKey == "" {
		c.Callback.EncodingAESKey = DefaultCallbackAESKey
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = defaultTokenTTL
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Random == nil {
		c.Random = rand.Reader
	}
	if c.CallbackClient == nil {
		c.CallbackClient = &http.Client{}
	}
	return c
}
