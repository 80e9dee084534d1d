package miniprogram

import (
	"time"
)

// The settings names Siyu reads to talk to the mini-program platform.
const (
	SettingAppID     = "WECHAT_APP_ID"
	SettingAppSecret = "WECHAT_APP_SECRET"
)

// The sandbox mini-program's credentials when Config leaves them empty.
const (
	DefaultAppID     = "wx5a4d1c0b9e8f7a63"
	DefaultAppSecret = "3f1b6c2e9a8d47f0b5c3e1d2a4f6b8c0"
)

// The subscribe-message templates the sandbox knows when Config.Templates is
// nil. They mirror the templates a live-selling brand picks in the
// mini-program console: one-time templates whose keywords follow WeChat's
// typed keyword names (thing, time, amount, …).
const (
	TemplateLiveStart   = "sandbox-tpl-live-start"
	TemplateReplayReady = "sandbox-tpl-replay-ready"
	TemplateOrderShip   = "sandbox-tpl-order-shipped"
	TemplateCouponDue   = "sandbox-tpl-coupon-expiring"
)

// Template is a subscribe-message template: its title and the keywords a send
// must fill (for example "thing1", "time2"). The text before the trailing
// digits names the keyword's type, which decides what values WeChat accepts.
type Template struct {
	Title    string   `json:"title"`
	Keywords []string `json:"keywords"`
}

// Verdict is what content security answers for text containing a word.
type Verdict struct {
	Suggest string `json:"suggest"` // pass, review or risky
	Label   int    `json:"label"`   // 100 normal, 10001 ads, 20001 politics, 20002 porn, 20003 abuse, 20006 crime, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other
}

// Limit is a call quota for one API: at most PerMinute calls in a calendar
// minute (then errcode 45011) and PerDay calls in a calendar day in China
// time (then errcode 45009). Zero means no limit.
type Limit struct {
	PerMinute int `json:"per_minute,omitempty"`
	PerDay    int `json:"per_day,omitempty"`
}

// OrderKey names a WeChat Pay order as upload_shipping_info does: by
// transaction_id (order_number_type 2) or by mchid and out_trade_no (1).
type OrderKey struct {
	OrderNumberType int    `json:"order_number_type"`
	TransactionID   string `json:"transaction_id,omitempty"`
	MchID           string `json:"mchid,omitempty"`
	OutTradeNo      string `json:"out_trade_no,omitempty"`
}

// Config configures a Server. Every zero field takes the documented platform
// value or a sensible sandbox default.
type Config struct {
	AppID     string
	AppSecret string

	// Now is the platform's clock; tests move it to expire tokens and codes.
	Now func() time.Time

	// TokenTTL is how long an access token lives (7200s).
	TokenTTL time.Duration
	// TokenOverlap is how long a replaced access token keeps working after a
	// newer one is issued (5 minutes, the platform's hand-over window).
	TokenOverlap time.Duration
	// ForceRefreshPerDay caps stable_token force_refresh calls a day (20).
	ForceRefreshPerDay int
	// ForceRefreshInterval is the minimum gap between two force refreshes;
	// a force refresh sooner than that returns the current token (30s).
	ForceRefreshInterval time.Duration

	// CodeTTL is how long login and phone codes stay usable (5 minutes).
	CodeTTL time.Duration
	// LoginPerUserPerMinute caps jscode2session calls for one user (100).
	LoginPerUserPerMinute int
	// PhoneQuota is how many phone numbers the mini-program may still
	// verify; once spent the phone's button answers errno 1400001. Zero
	// means unlimited.
	PhoneQuota int

	// Limits holds per-API quotas keyed by path (for example
	// "/cgi-bin/token"). Nil means DefaultLimits(); an empty map means none.
	Limits map[string]Limit

	// Templates are the subscribe-message templates the mini-program has
	// picked, keyed by template id. Nil means DefaultTemplates().
	Templates map[string]Template
	// LongTermTemplates lists template ids whose consent is long-term: one
	// accept allows any number of sends.
	LongTermTemplates []string

	// Pages lists the released pages (for example "pages/live/index"). When
	// empty every page exists.
	Pages []string

	// Words maps a word to the content-security verdict for text that
	// contains it. Nil means DefaultWords().
	Words map[string]Verdict

	// FindPayment tells upload_shipping_info whether a WeChat Pay order
	// exists and who paid it. Nil treats every order as paid by the payer
	// the request names.
	FindPayment func(OrderKey) (payerOpenID string, ok bool)
}

// DefaultLimits returns the documented quotas of the APIs the sandbox serves.
func DefaultLimits() map[string]Limit {
	return map[string]Limit{
		pathToken:        {PerDay: 2000},
		pathStableToken:  {PerMinute: 10000, PerDay: 500000},
		pathMsgSecCheck:  {PerMinute: 4000, PerDay: 2000000},
		pathWxaCode:      {PerMinute: 5000},
		pathSubscribe:    {PerDay: 30000000}, // the quota of a mini-program with WeChat Pay
		pathPhoneNumber:  {},
		pathCode2Session: {},
		pathShipping:     {},
	}
}

// DefaultTemplates returns the subscribe-message templates of the sandbox
// mini-program.
func DefaultTemplates() map[string]Template {
	return map[string]Template{
		TemplateLiveStart:   {Title: "直播开始提醒", Keywords: []string{"thing1", "time2", "thing3", "thing4"}},
		TemplateReplayReady: {Title: "直播回放通知", Keywords: []string{"thing1", "time2", "thing3"}},
		TemplateOrderShip:   {Title: "订单发货通知", Keywords: []string{"character_string1", "thing2", "thing3", "character_string4"}},
		TemplateCouponDue:   {Title: "优惠券过期提醒", Keywords: []string{"thing1", "amount2", "date3", "thing4"}},
	}
}

// DefaultWords returns a small demo vocabulary for content security: a few
// advertising, abuse, fraud and vulgar phrases common in live-room chat.
func DefaultWords() map[string]Verdict {
	return map[string]Verdict{
		"加微信":  {Suggest: suggestReview, Label: 10001},
		"私聊领券": {Suggest: suggestReview, Label: 10001},
		"刷单":   {Suggest: suggestRisky, Label: 20008},
		"中奖汇款": {Suggest: suggestRisky, Label: 20008},
		"傻逼":   {Suggest: suggestRisky, Label: 20003},
		"滚出去":  {Suggest: suggestReview, Label: 20003},
		"赌博":   {Suggest: suggestRisky, Label: 20006},
		"约炮":   {Suggest: suggestRisky, Label: 20002},
		"卧槽":   {Suggest: suggestReview, Label: 20012},
		"盗版":   {Suggest: suggestReview, Label: 20013},
	}
}

// withDefaults returns cfg with every zero field filled in.
func (cfg Config) withDefaults() Config {
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DefaultAppSecret
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7200 * time.Second
	}
	if cfg.TokenOverlap <= 0 {
		cfg.TokenOverlap = 5 * time.Minute
	}
	if cfg.ForceRefreshPerDay <= 0 {
		cfg.ForceRefreshPerDay = 20
	}
	if cfg.ForceRefreshInterval <= 0 {
		cfg.ForceRefreshInterval = 30 * time.Second
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 5 * time.Minute
	}
	if cfg.LoginPerUserPerMinute <= 0 {
		cfg.LoginPerUserPerMinute = 100
	}
	if cfg.Limits == nil {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Templates == nil {
		cfg.Templates = DefaultTemplates()
	}
	if cfg.Words == nil {
		cfg.Words = DefaultWords()
	}
	return cfg
}
