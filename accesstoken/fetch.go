package accesstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"
)

// ErrFetch wraps every failure to get a token from WeChat or WeCom. The
// wrapped message keeps the platform's errcode (see ErrCode) and never a
// secret.
var ErrFetch = errors.New("accesstoken: fetch failed")

// Token is a token as the platform hands it out.
type Token struct {
	Value     string
	ExpiresIn time.Duration
}

// Fetcher asks the platform for a token. It is called by at most one
// process at a time per Cache (unless Redis is down).
type Fetcher func(ctx context.Context) (Token, error)

// The platform endpoints, as the SDK's credential package calls them.
const (
	stableTokenURL = "https://api.weixin.qq.com/cgi-bin/stable_token"
	workTokenURL   = "https://qyapi.weixin.qq.com/cgi-bin/gettoken"
)

// StableToken returns a Fetcher for the mini-program's stable access token
// (POST cgi-bin/stable_token in normal mode, never force_refresh: normal
// mode returns the current token while it has more than five minutes left
// and a new one after that, so every replica asking gets the same token).
// It sends exactly the request credential.StableAccessToken sends, through
// the SDK's HTTP client.
func StableToken(appID, appSecret string) Fetcher {
	return func(ctx context.Context) (Token, error) {
		body, err := util.PostJSONContext(ctx, stableTokenURL, map[string]any{
			"grant_type":    "client_credential",
			"appid":         appID,
			"secret":        appSecret,
			"force_refresh": false,
		})
		if err != nil {
			return Token{}, fmt.Errorf("%w: stable_token: %s", ErrFetch, Redact(err.Error()))
		}
		return decodeToken("stable_token", body)
	}
}

// WorkToken returns a Fetcher for a WeCom corp's access token (GET
// cgi-bin/gettoken), through the SDK's credential.GetTokenFromServerContext.
// WeCom hands out the same token while it is valid.
func WorkToken(corpID, corpSecret string) Fetcher {
	return func(ctx context.Context) (Token, error) {
		q := url.Values{"corpid": {corpID}, "corpsecret": {corpSecret}}
		res, err := credential.GetTokenFromServerContext(ctx, workTokenURL+"?"+q.Encode())
		if err != nil {
			// The SDK's message holds the URL, and with it the corp secret.
			return Token{}, fmt.Errorf("%w: gettoken: %s", ErrFetch, Redact(err.Error()))
		}
		return checkToken("gettoken", res)
	}
}

func decodeToken(api string, body []byte) (Token, error) {
	var res credential.ResAccessToken
	if err := json.Unmarshal(body, &res); err != nil {
		return Token{}, fmt.Errorf("%w: %s: answer is not JSON: %v", ErrFetch, api, err)
	}
	return checkToken(api, res)
}

func checkToken(api string, res credential.ResAccessToken) (Token, error) {
	switch {
	case res.ErrCode != 0:
		return Token{}, fmt.Errorf("%w: %s: errcode=%d errmsg=%s", ErrFetch, api, res.ErrCode, res.ErrMsg)
	case res.AccessToken == "" || res.ExpiresIn <= 0:
		return Token{}, fmt.Errorf("%w: %s: answer has no token or expiry", ErrFetch, api)
	}
	return Token{Value: res.AccessToken, ExpiresIn: time.Duration(res.ExpiresIn) * time.Second}, nil
}
