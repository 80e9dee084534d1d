package wxpay

import (
	"crypto/rand"
	"fmt"
	"time"
)

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// pick returns n characters drawn from set. crypto/rand.Read never fails
// (Go 1.24 and later crash the program instead), so neither does pick.
func pick(set string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}

func digits(n int) string   { return pick("0123456789", n) }
func nonce() string         { return pick(alnum, 32) }
func hexUpper(n int) string { return pick("0123456789ABCDEF", n) }

// prepayID mimics wx201410272009395522657a690389285100: "wx", the issue
// time to the second, then 20 lower-case hex digits.
func prepayID(now time.Time) string {
	return "wx" + now.In(cst()).Format("20060102150405") + pick("0123456789abcdef", 20)
}

// transactionID mimics 4200001234202401011234567890: 28 digits, the
// JSAPI prefix 42000, a sequence, then the payment date.
func transactionID(now time.Time) string {
	return "42000" + digits(5) + now.In(cst()).Format("20060102") + digits(10)
}

// refundID mimics 50300907412021070711178473127: 29 digits.
func refundID(now time.Time) string {
	return "503" + digits(8) + now.In(cst()).Format("20060102") + digits(10)
}

// eventID is a notification id; recent notifications carry UUIDs.
func eventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// cst is China Standard Time, the zone WeChat Pay writes its RFC 3339
// times in (2018-06-08T10:34:56+08:00). A fixed zone needs no tzdata.
func cst() *time.Location { return time.FixedZone("CST", 8*3600) }

// stamp formats t the way WeChat Pay does.
func stamp(t time.Time) string { return t.In(cst()).Format(time.RFC3339) }
