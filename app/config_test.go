package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(secretFile, []byte("postgres://app:s3cret@db:5432/siyu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prodOK := map[string]string{
		"SIYU_ENV": "prod", "DATABASE_URL": "postgres://db/siyu", "REDIS_URL": "redis://r:6379/0",
		"LIVEKIT_API_KEY": "prodkey", "LIVEKIT_API_SECRET": strings.Repeat("x", 40),
		"SIYU_SECRET_KEY": strings.Repeat("ab", 32), "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s",
		"WECHATPAY_MCH_ID": "1900000001", "WECHATPAY_MCH_CERT_SERIAL": "ABC", "WECHATPAY_MCH_PRIVATE_KEY": "pem",
		"WECHATPAY_APIV3_KEY": strings.Repeat("k", 32),
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string // the variable the error names; "" means no error
		check   func(t *testing.T, c Config)
	}{
		{name: "dev defaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.HTTPAddr != ":8080" || !c.DatabaseEmbedded || c.RedisURL != "" || c.WeChatSandbox != "inprocess" {
				t.Errorf("defaults: %+v", c)
			}
			if c.DatabaseURL != "sqlite:./data/siyu.db" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
		}},
		{name: "secret from _FILE", env: map[string]string{"DATABASE_URL_FILE": secretFile}, check: func(t *testing.T, c Config) {
			if c.DatabaseURL != "postgres://app:s3cret@db:5432/siyu" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
		}},
		{name: "secret and _FILE both set", env: map[string]string{"DATABASE_URL": "postgres://x", "DATABASE_URL_FILE": secretFile}, wantVar: "DATABASE_URL"},
		{name: "_FILE missing", env: map[string]string{"REDIS_URL_FILE": "/nonexistent/file"}, wantVar: "REDIS_URL_FILE"},
		{name: "bad env", env: map[string]string{"SIYU_ENV": "staging"}, wantVar: "SIYU_ENV"},
		{name: "bad addr", env: map[string]string{"SIYU_HTTP_ADDR": "8080"}, wantVar: "SIYU_HTTP_ADDR"},
		{name: "bad public url", env: map[string]string{"SIYU_PUBLIC_URL": "localhost"}, wantVar: "SIYU_PUBLIC_URL"},
		{name: "bad database url", env: map[string]string{"DATABASE_URL": "mysql://x"}, wantVar: "DATABASE_URL"},
		{name: "bad redis url", env: map[string]string{"REDIS_URL": "localhost:6379"}, wantVar: "REDIS_URL"},
		{name: "bad duration", env: map[string]string{"SIYU_READ_TIMEOUT": "soon"}, wantVar: "SIYU_READ_TIMEOUT"},
		{name: "bad body limit", env: map[string]string{"SIYU_BODY_LIMIT": "-1"}, wantVar: "SIYU_BODY_LIMIT"},
		{name: "bad secret key", env: map[string]string{"SIYU_SECRET_KEY": "short"}, wantVar: "SIYU_SECRET_KEY"},
		{name: "bad sandbox", env: map[string]string{"WECHAT_SANDBOX": "maybe"}, wantVar: "WECHAT_SANDBOX"},
		{name: "prod complete", env: prodOK, check: func(t *testing.T, c Config) {
			if !c.Prod() || c.WeChatSandbox != "off" {
				t.Errorf("prod: %+v", c)
			}
		}},
		{name: "prod refuses sqlite", env: with(prodOK, "DATABASE_URL", "sqlite:/tmp/x.db"), wantVar: "DATABASE_URL"},
		{name: "prod refuses embedded database", env: with(prodOK, "DATABASE_URL", ""), wantVar: "DATABASE_URL"},
		{name: "prod refuses miniredis", env: with(prodOK, "REDIS_URL", ""), wantVar: "REDIS_URL"},
		{name: "prod refuses dev keys", env: with(prodOK, "LIVEKIT_API_KEY", "devkey"), wantVar: "LIVEKIT_API_KEY"},
		{name: "prod refuses sandbox", env: with(prodOK, "WECHAT_SANDBOX", "inprocess"), wantVar: "WECHAT_SANDBOX"},
		{name: "prod needs secret key", env: with(prodOK, "SIYU_SECRET_KEY", ""), wantVar: "SIYU_SECRET_KEY"},
		{name: "real WeChat needs merchant key", env: with(prodOK, "WECHATPAY_MCH_PRIVATE_KEY", ""), wantVar: "WECHATPAY_MCH_PRIVATE_KEY"},
		{name: "APIv3 key length", env: with(prodOK, "WECHATPAY_APIV3_KEY", "short"), wantVar: "WECHATPAY_APIV3_KEY"},
		{name: "public key needs its id", env: with(prodOK, "WECHATPAY_PUBLIC_KEY", "pem"), wantVar: "WECHATPAY_PUBLIC_KEY_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tt.check(t, c)
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a ConfigError naming %s, got %v", tt.wantVar, err)
			}
			if ce.Name != tt.wantVar {
				t.Fatalf("error names %s, want %s (%v)", ce.Name, tt.wantVar, err)
			}
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"siyu", "help"}, func(string) string { return "" }, &out, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), s.name) {
			t.Errorf("help does not list %s", s.name)
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"siyu", "serve", "--help"}, func(string) string { return "" }, &out, &out); code != 0 {
		t.Fatalf("serve --help exit %d", code)
	}
	for _, want := range []string{"--migrate", "--with-worker", "DATABASE_URL", "WECOM_CALLBACK_AES_KEY"} {
		if !strings.Contains(strings.ReplaceAll(out.String(), "  -", "  --"), want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
}
