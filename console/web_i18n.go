package console

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// The console's languages: Simplified Chinese by default, and English.
const (
	langZH = "zh-CN"
	langEN = "en"
)

// langCookie remembers a language chosen with ?lang=.
const langCookie = "siyu_lang"

const langKey = "lang"

// validKey is what a message key looks like.
var validKey = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)

// webLanguage picks the page's language: ?lang= (remembered in a
// cookie), then the cookie, then Accept-Language, then Chinese.
func webLanguage(c *fiber.Ctx) error {
	lang := ""
	if q := normalLang(c.Query("lang")); q != "" {
		lang = q
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: q, Path: WebPrefix, SameSite: fiber.CookieSameSiteLaxMode,
			Expires: time.Now().AddDate(1, 0, 0)})
	}
	if lang == "" {
		lang = normalLang(c.Cookies(langCookie))
	}
	if lang == "" {
		lang = acceptLanguage(c.Get(fiber.HeaderAcceptLanguage))
	}
	c.Locals(langKey, lang)
	return c.Next()
}

// language is the page's language.
func language(c *fiber.Ctx) string {
	if l, ok := c.Locals(langKey).(string); ok && l != "" {
		return l
	}
	return langZH
}

func normalLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(s, "en"):
		return langEN
	case strings.HasPrefix(s, "zh"):
		return langZH
	}
	return ""
}

// acceptLanguage picks the first language of the header the console has.
func acceptLanguage(h string) string {
	for _, part := range strings.Split(h, ",") {
		tag, _, _ := strings.Cut(part, ";")
		if l := normalLang(tag); l != "" {
			return l
		}
	}
	return langZH
}

// translate returns the message key in lang, with args filled in; an
// unknown key falls back to Chinese, then to the key itself.
func translate(lang, key string, args ...any) string {
	msg, ok := messages[lang][key]
	if !ok {
		msg, ok = messages[langZH][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}
