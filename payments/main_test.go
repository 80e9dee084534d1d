package payments

import (
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// wechatHandler is where silenceper/wechat's process-global client sends
// the requests of the running test (the mini-program sandbox).
var wechatHandler atomic.Pointer[http.Handler]

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := wechatHandler.Load()
		if h == nil {
			return nil, http.ErrServerClosed
		}
		return handlerTransport{*h}.RoundTrip(r)
	})}
	os.Exit(m.Run())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
