package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// setting is one environment variable Siyu reads: its name, default, what
// it means, and whether it is a secret (then NAME_FILE may hold it instead).
type setting struct {
	name   string
	def    string
	secret bool
	help   string
}

// settings lists every variable, in the order `siyu help` prints them.
var settings = []setting{
	{"SIYU_ENV", "dev", false, "dev or prod. prod refuses embedded stores, the sandbox and dev keys, and logs JSON"},
	{"SIYU_HTTP_ADDR", ":8080", false, "address the HTTP API listens on"},
	{"SIYU_PUBLIC_URL", "http://localhost:8080", false, "the URL shoppers, WeChat and LiveKit reach Siyu at (callbacks are built from it)"},
	{"SIYU_CONSOLE_ORIGIN", "", false, "origin allowed by CORS for the staff console (default: SIYU_PUBLIC_URL's origin)"},
	{"SIYU_LOG_LEVEL", "info", false, "debug, info, warn or error"},
	{"SIYU_DATA_DIR", "./data", false, "folder for the embedded SQLite database and other local files"},
	{"SIYU_SECRET_KEY", "", true, "32+ random bytes (hex or base64) that encrypt secrets at rest; dev derives one from the data folder"},
	{"SIYU_BODY_LIMIT", "1048576", false, "largest request body in bytes"},
	{"SIYU_READ_TIMEOUT", "15s", false, "HTTP read timeout"},
	{"SIYU_WRITE_TIMEOUT", "30s", false, "HTTP write timeout"},
	{"SIYU_SHUTDOWN_TIMEOUT", "20s", false, "how long a shutdown waits for requests and jobs to finish"},
	{"SIYU_WORKER_CONCURRENCY", "10", false, "jobs a worker runs at once"},
	{"DATABASE_URL", "", true, "postgres://… for PostgreSQL; unset uses SQLite at SIYU_DATA_DIR/siyu.db (dev only)"},
	{"REDIS_URL", "", true, "redis://… for Redis; unset runs an in-process miniredis that keeps jobs in memory only (dev only)"},
	{"LIVEKIT_URL", "ws://127.0.0.1:7880", false, "the LiveKit server's URL"},
	{"LIVEKIT_API_KEY", "devkey", false, "LiveKit API key (devkey is refused in prod)"},
	{"LIVEKIT_API_SECRET", "secret", true, "LiveKit API secret (secret is refused in prod)"},
	{"WECHAT_SANDBOX", "", false, "inprocess (dev default): WeChat, WeCom and WeChat Pay are the in-process sandbox; a URL: a standalone `siyu sandbox`; off (prod default): the real platforms"},
	{"WECHAT_APP_ID", "", false, "mini-program appid"},
	{"WECHAT_APP_SECRET", "", true, "mini-program app secret"},
	{"WECHATPAY_MCH_ID", "", false, "WeChat Pay merchant id"},
	{"WECHATPAY_MCH_CERT_SERIAL", "", false, "serial number of the merchant API certificate"},
	{"WECHATPAY_MCH_PRIVATE_KEY", "", true, "merchant API private key (PEM)"},
	{"WECHATPAY_APIV3_KEY", "", true, "APIv3 key (32 characters)"},
	{"WECHATPAY_PUBLIC_KEY_ID", "", false, "WeChat Pay public key id (PUB_KEY_ID_…) for public-key mode"},
	{"WECHATPAY_PUBLIC_KEY", "", true, "WeChat Pay public key (PEM) for public-key mode; with neither, platform certificates are downloaded"},
	{"WECHATPAY_VERIFY_MODE", "", false, "how WeChat Pay's signatures are verified: public_key, certificate (platform certificates downloaded), or migrating (both, while a merchant moves to the public key); default: public_key when WECHATPAY_PUBLIC_KEY is set, else certificate"},
	{"WECOM_CORP_ID", "", false, "WeCom corp id"},
	{"WECOM_CORP_SECRET", "", true, "WeCom customer-contact secret"},
	{"WECOM_AGENT_ID", "", false, "WeCom agent id"},
	{"WECOM_CALLBACK_TOKEN", "", true, "token of Siyu's WeCom callback"},
	{"WECOM_CALLBACK_AES_KEY", "", true, "EncodingAESKey of Siyu's WeCom callback (43 characters)"},
	// --- live ---
	{"LIVE_MEDIA_BASE_URL", "", false, "public URL of the storage LiveKit Egress writes to (bucket or CDN): recordings and HLS playlists are published under it; unset: replays use the location Egress reports and no live HLS URL is given"},
	{"LIVE_VIEWER_TOKEN_TTL", "10m", false, "how long a viewer's LiveKit token lets them join (at most 15m; viewers join again to refresh)"},
	{"LIVE_MAX_PARTICIPANTS", "2000", false, "most participants in one show's LiveKit room; larger audiences watch the HLS playlist"},
	{"LIVE_EMPTY_TIMEOUT", "10m", false, "LiveKit closes a show's room when nobody joined it for this long"},
	{"LIVE_COMMENT_INTERVAL", "2s", false, "least time between two comments of one shopper in one show"},
	{"LIVE_BROADCAST_TICK", "250ms", false, "period of chat batches: a room gets at most one chat message per tick (250ms or more)"},
	{"LIVE_LIKE_FLUSH", "50ms", false, "how often a process adds the likes it took to Redis (at most LIVE_BROADCAST_TICK); a process that crashes loses the likes of at most this long"},
	{"LIVE_REMINDER_LEAD", "10m", false, "how long before a show's start its reminders are sent"},
	{"LIVE_REPLAY_WATCH_BELOW", "5m", false, "viewers who watched less than this get the replay notice (with consent)"},
	{"LIVE_REMINDER_TEMPLATE", "", false, "start reminder subscribe message: TEMPLATE_ID|keyword=text|… with {title} and {start} filled in; unset: none are sent (the sandbox's live-start template in sandbox mode)"},
	{"LIVE_REPLAY_TEMPLATE", "", false, "replay notice subscribe message, as LIVE_REMINDER_TEMPLATE (the sandbox's replay template in sandbox mode)"},
	{"WECHAT_SUBSCRIBE_LONG_TERM", "", false, "comma-separated long-term subscribe-message template ids, whose consent is not spent by sending"},
	{"WECHAT_MINIPROGRAM_STATE", "formal", false, "the mini-program version subscribe messages open: developer, trial or formal"},
	// --- community ---
	{"COMMUNITY_SUBSCRIBE_RATE", "347", false, "subscribe messages campaigns send per second across all workers (WeChat's 30,000,000 a day, spread over the day)"},
	{"COMMUNITY_WECOM_RATE", "41", false, "WeCom API calls campaigns make per second across all workers (WeCom's 150,000 an hour)"},
}

// Config is Siyu's validated configuration.
type Config struct {
	Env                string
	HTTPAddr           string
	PublicURL          *url.URL
	ConsoleOrigin      string
	LogLevel           string
	DataDir            string
	SecretKey          string
	BodyLimit          int
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	ShutdownTimeout    time.Duration
	WorkerConcurrency  int
	DatabaseURL        string
	DatabaseEmbedded   bool
	RedisURL           string
	LiveKitURL         string
	LiveKitAPIKey      string
	LiveKitAPISecret   string
	WeChatSandbox      string // "inprocess", "off", or a sandbox URL
	WeChatAppID        string
	WeChatAppSecret    string
	PayMchID           string
	PayMchCertSerial   string
	PayMchPrivateKey   string
	PayAPIv3Key        string
	PayPublicKeyID     string
	PayPublicKey       string
	PayVerifyMode      string
	WeComCorpID        string
	WeComCorpSecret    string
	WeComAgentID       string
	WeComCallbackToken string
	WeComCallbackAES   string
	// --- live ---
	Live LiveConfig
	// --- community ---
	Community CommunityConfig
}

// Prod reports whether Siyu runs in production mode.
func (c Config) Prod() bool { return c.Env == "prod" }

// ConfigError names the variable that is wrong and what is wrong with it.
type ConfigError struct {
	Name string
	Msg  string
}

func (e *ConfigError) Error() string { return e.Name + ": " + e.Msg }

// loadConfig reads every setting through getenv, resolving NAME_FILE for
// secrets, and validates the result. The first problem is returned as a
// *ConfigError.
func loadConfig(getenv func(string) string) (Config, error) {
	v := map[string]string{}
	for _, s := range settings {
		val := getenv(s.name)
		if s.secret {
			if path := getenv(s.name + "_FILE"); path != "" {
				if val != "" {
					return Config{}, &ConfigError{s.name, "set both " + s.name + " and " + s.name + "_FILE; set one"}
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return Config{}, &ConfigError{s.name + "_FILE", "cannot read " + path + ": " + errors.Unwrap(err).Error()}
				}
				val = strings.TrimRight(string(b), "\r\n")
			}
		}
		if val == "" {
			val = s.def
		}
		v[s.name] = val
	}
	var c Config
	var err error
	c.Env = v["SIYU_ENV"]
	if c.Env != "dev" && c.Env != "prod" {
		return c, &ConfigError{"SIYU_ENV", fmt.Sprintf("must be dev or prod, not %q", c.Env)}
	}
	c.HTTPAddr = v["SIYU_HTTP_ADDR"]
	if !strings.Contains(c.HTTPAddr, ":") {
		return c, &ConfigError{"SIYU_HTTP_ADDR", fmt.Sprintf("must be host:port or :port, not %q", c.HTTPAddr)}
	}
	if c.PublicURL, err = url.Parse(v["SIYU_PUBLIC_URL"]); err != nil || (c.PublicURL.Scheme != "http" && c.PublicURL.Scheme != "https") || c.PublicURL.Host == "" {
		return c, &ConfigError{"SIYU_PUBLIC_URL", fmt.Sprintf("must be an absolute http(s) URL, not %q", v["SIYU_PUBLIC_URL"])}
	}
	c.ConsoleOrigin = v["SIYU_CONSOLE_ORIGIN"]
	if c.ConsoleOrigin == "" {
		c.ConsoleOrigin = c.PublicURL.Scheme + "://" + c.PublicURL.Host
	}
	c.LogLevel = v["SIYU_LOG_LEVEL"]
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, &ConfigError{"SIYU_LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, not %q", c.LogLevel)}
	}
	c.DataDir = v["SIYU_DATA_DIR"]
	if c.BodyLimit, err = positiveInt(v, "SIYU_BODY_LIMIT"); err != nil {
		return c, err
	}
	if c.WorkerConcurrency, err = positiveInt(v, "SIYU_WORKER_CONCURRENCY"); err != nil {
		return c, err
	}
	if c.ReadTimeout, err = duration(v, "SIYU_READ_TIMEOUT"); err != nil {
		return c, err
	}
	if c.WriteTimeout, err = duration(v, "SIYU_WRITE_TIMEOUT"); err != nil {
		return c, err
	}
	if c.ShutdownTimeout, err = duration(v, "SIYU_SHUTDOWN_TIMEOUT"); err != nil {
		return c, err
	}

	c.DatabaseURL = v["DATABASE_URL"]
	if c.DatabaseURL == "" {
		if c.Prod() {
			return c, &ConfigError{"DATABASE_URL", "must be set in prod (the embedded SQLite database is for dev)"}
		}
		c.DatabaseEmbedded = true
		c.DatabaseURL = "sqlite:" + strings.TrimSuffix(c.DataDir, "/") + "/siyu.db"
	} else if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		return c, &ConfigError{"DATABASE_URL", "must start with postgres://, postgresql:// or sqlite:"}
	} else if c.Prod() && strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		return c, &ConfigError{"DATABASE_URL", "SQLite is refused in prod; use PostgreSQL"}
	}

	c.RedisURL = v["REDIS_URL"]
	if c.RedisURL == "" && c.Prod() {
		return c, &ConfigError{"REDIS_URL", "must be set in prod (the in-process miniredis keeps jobs in memory only)"}
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return c, &ConfigError{"REDIS_URL", "must start with redis:// or rediss://"}
	}

	c.LiveKitURL = v["LIVEKIT_URL"]
	if u, err := url.Parse(c.LiveKitURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, &ConfigError{"LIVEKIT_URL", fmt.Sprintf("must be a ws(s):// or http(s):// URL, not %q", c.LiveKitURL)}
	}
	c.LiveKitAPIKey, c.LiveKitAPISecret = v["LIVEKIT_API_KEY"], v["LIVEKIT_API_SECRET"]
	if c.Prod() && (c.LiveKitAPIKey == "devkey" || c.LiveKitAPISecret == "secret") {
		return c, &ConfigError{"LIVEKIT_API_KEY", "the dev key pair (devkey/secret) is refused in prod"}
	}
	if c.Prod() && len(c.LiveKitAPISecret) < 32 {
		return c, &ConfigError{"LIVEKIT_API_SECRET", "must be at least 32 characters in prod"}
	}

	c.WeChatSandbox = v["WECHAT_SANDBOX"]
	if c.WeChatSandbox == "" {
		c.WeChatSandbox = "inprocess"
		if c.Prod() {
			c.WeChatSandbox = "off"
		}
	}
	switch {
	case c.WeChatSandbox == "inprocess" || c.WeChatSandbox == "off":
	case strings.HasPrefix(c.WeChatSandbox, "http://") || strings.HasPrefix(c.WeChatSandbox, "https://"):
	default:
		return c, &ConfigError{"WECHAT_SANDBOX", fmt.Sprintf("must be inprocess, off or the URL of a standalone sandbox, not %q", c.WeChatSandbox)}
	}
	if c.Prod() && c.WeChatSandbox != "off" {
		return c, &ConfigError{"WECHAT_SANDBOX", "the sandbox is refused in prod; set WECHAT_SANDBOX=off"}
	}

	c.SecretKey = v["SIYU_SECRET_KEY"]
	if c.SecretKey == "" && c.Prod() {
		return c, &ConfigError{"SIYU_SECRET_KEY", "must be set in prod"}
	}
	if c.SecretKey != "" {
		if _, err := decodeKey(c.SecretKey); err != nil {
			return c, &ConfigError{"SIYU_SECRET_KEY", err.Error()}
		}
	}

	c.WeChatAppID, c.WeChatAppSecret = v["WECHAT_APP_ID"], v["WECHAT_APP_SECRET"]
	c.PayMchID, c.PayMchCertSerial = v["WECHATPAY_MCH_ID"], v["WECHATPAY_MCH_CERT_SERIAL"]
	c.PayMchPrivateKey, c.PayAPIv3Key = v["WECHATPAY_MCH_PRIVATE_KEY"], v["WECHATPAY_APIV3_KEY"]
	c.PayPublicKeyID, c.PayPublicKey = v["WECHATPAY_PUBLIC_KEY_ID"], v["WECHATPAY_PUBLIC_KEY"]
	c.WeComCorpID, c.WeComCorpSecret, c.WeComAgentID = v["WECOM_CORP_ID"], v["WECOM_CORP_SECRET"], v["WECOM_AGENT_ID"]
	c.WeComCallbackToken, c.WeComCallbackAES = v["WECOM_CALLBACK_TOKEN"], v["WECOM_CALLBACK_AES_KEY"]
	if c.WeChatSandbox == "off" {
		for _, req := range []struct{ name, val string }{
			{"WECHAT_APP_ID", c.WeChatAppID}, {"WECHAT_APP_SECRET", c.WeChatAppSecret},
			{"WECHATPAY_MCH_ID", c.PayMchID}, {"WECHATPAY_MCH_CERT_SERIAL", c.PayMchCertSerial},
			{"WECHATPAY_MCH_PRIVATE_KEY", c.PayMchPrivateKey}, {"WECHATPAY_APIV3_KEY", c.PayAPIv3Key},
		} {
			if req.val == "" {
				return c, &ConfigError{req.name, "must be set when WECHAT_SANDBOX=off"}
			}
		}
		if c.PayAPIv3Key != "" && len(c.PayAPIv3Key) != 32 {
			return c, &ConfigError{"WECHATPAY_APIV3_KEY", "must be exactly 32 characters"}
		}
		if (c.PayPublicKeyID == "") != (c.PayPublicKey == "") {
			return c, &ConfigError{"WECHATPAY_PUBLIC_KEY_ID", "set both WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY, or neither"}
		}
	}
	c.PayVerifyMode = v["WECHATPAY_VERIFY_MODE"]
	switch c.PayVerifyMode {
	case "":
		c.PayVerifyMode = "certificate"
		if c.PayPublicKey != "" {
			c.PayVerifyMode = "public_key"
		}
	case "public_key", "migrating":
		if c.WeChatSandbox == "off" && c.PayPublicKey == "" {
			return c, &ConfigError{"WECHATPAY_VERIFY_MODE", c.PayVerifyMode + " needs WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY"}
		}
	case "certificate":
	default:
		return c, &ConfigError{"WECHATPAY_VERIFY_MODE", fmt.Sprintf("must be public_key, certificate or migrating, not %q", c.PayVerifyMode)}
	}
	if c.WeComCallbackAES != "" && len(c.WeComCallbackAES) != 43 {
		return c, &ConfigError{"WECOM_CALLBACK_AES_KEY", "must be 43 characters"}
	}
	// --- live ---
	if c.Live, err = loadLiveConfig(v, c.WeChatSandbox != "off"); err != nil {
		return c, err
	}
	// --- community ---
	if c.Community, err = loadCommunityConfig(v); err != nil {
		return c, err
	}
	return c, nil
}

func positiveInt(v map[string]string, name string) (int, error) {
	n, err := strconv.Atoi(v[name])
	if err != nil || n <= 0 {
		return 0, &ConfigError{name, fmt.Sprintf("must be a positive whole number, not %q", v[name])}
	}
	return n, nil
}

func duration(v map[string]string, name string) (time.Duration, error) {
	d, err := time.ParseDuration(v[name])
	if err != nil || d <= 0 {
		return 0, &ConfigError{name, fmt.Sprintf("must be a positive duration such as 15s, not %q", v[name])}
	}
	return d, nil
}

// settingsHelp renders the settings table for `siyu help`.
func settingsHelp() string {
	var b strings.Builder
	b.WriteString("Settings (environment variables; a secret may also be read from NAME_FILE):\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "unset"
		}
		sec := ""
		if s.secret {
			sec = " [secret]"
		}
		fmt.Fprintf(&b, "  %-27s default %s%s\n      %s\n", s.name, def, sec, s.help)
	}
	return b.String()
}
