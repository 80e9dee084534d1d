package live

import (
	"strings"
	"time"
	"unicode/utf8"
)

// NoticeTemplate is a subscribe-message template and how to fill it.
type NoticeTemplate struct {
	ID string
	// Keywords maps every keyword of the template (thing1, time2, …) to
	// its text, in which {title} is the show's title and {start} its
	// scheduled start in China time ("2006-01-02 15:04").
	Keywords map[string]string
}

// chinaTime is Asia/Shanghai, which has had no daylight saving since 1991.
var chinaTime = time.FixedZone("CST", 8*60*60)

// fill renders the template's keywords for a show. A "thing" keyword holds
// at most 20 characters on WeChat, so longer text is cut with an ellipsis.
func (t NoticeTemplate) fill(show *Show) map[string]string {
	r := strings.NewReplacer("{title}", show.Title, "{start}", show.ScheduledAt.In(chinaTime).Format("2006-01-02 15:04"))
	out := make(map[string]string, len(t.Keywords))
	for k, v := range t.Keywords {
		v = r.Replace(v)
		if strings.HasPrefix(k, "thing") && utf8.RuneCountInString(v) > 20 {
			v = string([]rune(v)[:19]) + "…"
		}
		out[k] = v
	}
	return out
}

// page is the mini-program page a show's notice opens.
func (s *Service) page(showID string) string {
	return s.cfg.NoticePage + "?show_id=" + showID
}
