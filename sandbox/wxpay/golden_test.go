package wxpay

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenPayloads pins the shape of what the platform sends: query
// answers, the notification envelope, the decrypted resources and the
// refund object. Random values are replaced by placeholders; times come
// from a fixed clock.
func TestGoldenPayloads(t *testing.T) {
	fixed := time.Date(2025, 6, 1, 10, 0, 0, 0, cst())
	m := &merchant{}
	s := newServer(t, Config{MchID: "1230000109", Now: func() time.Time { return fixed }, ManualRefunds: true}, m)
	no := "SY202506010001"
	id := placeOrder(t, s, no, 2990)

	golden(t, "transaction_notpay", body(t, call(t, s, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid=1230000109", nil)))
	if _, err := s.ConfirmPayment(id); err != nil {
		t.Fatal(err)
	}
	golden(t, "transaction_success", body(t, call(t, s, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid=1230000109", nil)))
	golden(t, "refund_processing", body(t, call(t, s, "POST", "/v3/refund/domestic/refunds", refundBody(no, "RF202506010001", 990, 2990))))
	if _, err := s.SettleRefund("RF202506010001", RefundSuccess); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "two notifications", func() bool { return len(m.received()) == 2 })
	ns := s.Notifications()
	golden(t, "notification_envelope", []byte(ns[0].Body))
	golden(t, "notification_transaction", []byte(ns[0].Plaintext))
	golden(t, "notification_refund", []byte(ns[1].Plaintext))
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s %v", resp.StatusCode, b, err)
	}
	return b
}

// golden compares payload, with its random values masked, to
// testdata/name.golden.
func golden(t *testing.T, name string, payload []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	mask(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// mask replaces the values that are random by nature.
func mask(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "id", "transaction_id", "refund_id", "ciphertext", "nonce":
				v[k] = "<" + k + ">"
			default:
				mask(x)
			}
		}
	case []any:
		for _, x := range v {
			mask(x)
		}
	}
}
