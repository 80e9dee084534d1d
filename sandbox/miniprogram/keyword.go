package miniprogram

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Subscribe-message keyword values follow the platform's table of limits
// for each keyword type ("订阅消息参数值内容限制说明"); the type is the
// keyword name without its trailing digits (thing1 → thing).
var (
	datePart   = `(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2})`
	clockPart  = `\d{1,2}:\d{2}(?::\d{2})?`
	timeValue  = regexp.MustCompile(`^(?:` + datePart + `\s*)?` + clockPart + `$`)
	dateValue  = regexp.MustCompile(`^` + datePart + `(?:\s*` + clockPart + `)?$`)
	numberVal  = regexp.MustCompile(`^\d+(?:\.\d+)?$`)
	letterVal  = regexp.MustCompile(`^[A-Za-z]+$`)
	amountVal  = regexp.MustCompile(`^[¥￥$€£]?\d{1,10}(?:\.\d+)?元?$`)
	phoneVal   = regexp.MustCompile(`^[0-9+\-() ]+$`)
	carMiddle  = regexp.MustCompile(`^[A-Za-z0-9]*$`)
	keywordEnd = regexp.MustCompile(`[0-9]+$`)
)

// keywordValid reports whether value is acceptable for the keyword name.
// Unknown keyword types accept any value.
func keywordValid(name, value string) bool {
	n := utf8.RuneCountInString(value)
	switch keywordEnd.ReplaceAllString(name, "") {
	case "thing":
		return n <= 20
	case "number":
		return n <= 32 && numberVal.MatchString(value)
	case "letter":
		return n <= 32 && letterVal.MatchString(value)
	case "symbol":
		return n <= 5 && all(value, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) })
	case "character_string":
		return n <= 32 && all(value, func(r rune) bool { return r > ' ' && r <= '~' })
	case "time":
		return ranges(value, timeValue)
	case "date":
		return ranges(value, dateValue)
	case "amount":
		return amountVal.MatchString(value)
	case "phone_number":
		return n <= 17 && phoneVal.MatchString(value)
	case "car_number":
		return carNumber(value)
	case "name":
		if strings.IndexFunc(value, isHan) >= 0 {
			// Mixed Chinese and letters count as a Chinese name.
			return n <= 10
		}
		return n <= 20 && all(value, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsPunct(r) || r == ' ' })
	case "phrase":
		return n <= 5 && all(value, isHan)
	}
	return true
}

// ranges checks a time or date value, which may be a range of two values
// joined by "~".
func ranges(value string, re *regexp.Regexp) bool {
	parts := strings.Split(value, "~")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if !re.MatchString(strings.TrimSpace(p)) {
			return false
		}
	}
	return true
}

// carNumber checks a plate: at most 8 characters, Chinese allowed only first
// and last, letters and digits between.
func carNumber(value string) bool {
	runes := []rune(value)
	if len(runes) < 2 || len(runes) > 8 {
		return false
	}
	edge := func(r rune) bool { return isHan(r) || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) }
	return edge(runes[0]) && edge(runes[len(runes)-1]) && carMiddle.MatchString(string(runes[1:len(runes)-1]))
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

func all(s string, f func(rune) bool) bool {
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return true
}
