package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siyu-live/siyu/testsupport"
)

// call sends a JSON request to a running Siyu and decodes the JSON answer
// into out (when not nil), returning the status.
func call(t *testing.T, client *http.Client, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// TestShopperEndToEnd runs the real program and logs a shopper in through
// the sandbox's phone over HTTP: wx.login, POST /mp/v1/session, GET
// /mp/v1/me, phone binding, logout.
func TestShopperEndToEnd(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s := startSiyu(t, map[string]string{
				"DATABASE_URL": testsupport.DatabaseURL(t, d),
				"REDIS_URL":    testsupport.Redis(t),
			})
			c := &http.Client{Timeout: 20 * time.Second}
			var code struct{ Code string }
			if st := call(t, c, http.MethodPost, s.URL+"/sandbox/miniprogram/login-code", "", map[string]string{"openid": "o-e2e", "unionid": "u-e2e"}, &code); st != 200 || code.Code == "" {
				t.Fatalf("wx.login on the sandbox phone = %d", st)
			}
			var sess struct {
				Token  string
				Member struct{ ID string }
			}
			if st := call(t, c, http.MethodPost, s.URL+"/mp/v1/session", "", map[string]any{"code": code.Code, "scene": 1047, "share": map[string]string{"channel": "poster"}}, &sess); st != 201 || sess.Token == "" {
				t.Fatalf("login = %d\n%s", st, s.Logs())
			}
			var me struct{ ID, Phone string }
			if st := call(t, c, http.MethodGet, s.URL+"/mp/v1/me", sess.Token, nil, &me); st != 200 || me.ID != sess.Member.ID {
				t.Fatalf("GET /me = %d %+v", st, me)
			}
			var phone struct{ Code string }
			call(t, c, http.MethodPost, s.URL+"/sandbox/miniprogram/phone-code", "", map[string]string{"phone": "13800138000"}, &phone)
			if st := call(t, c, http.MethodPost, s.URL+"/mp/v1/me/phone", sess.Token, map[string]string{"code": phone.Code}, &me); st != 200 || me.Phone != "138****8000" {
				t.Fatalf("bind phone = %d %+v\n%s", st, me, s.Logs())
			}
			if st := call(t, c, http.MethodDelete, s.URL+"/mp/v1/session", sess.Token, nil, nil); st != 204 {
				t.Fatalf("logout = %d", st)
			}
			if st := call(t, c, http.MethodGet, s.URL+"/mp/v1/me", sess.Token, nil, nil); st != 401 {
				t.Fatalf("after logout = %d", st)
			}
			var doc struct {
				Paths map[string]map[string]any `json:"paths"`
			}
			call(t, c, http.MethodGet, s.URL+"/openapi.json", "", nil, &doc)
			for path, method := range map[string]string{"/mp/v1/session": "post", "/mp/v1/me": "patch", "/mp/v1/me/phone": "post", "/console/api/v1/audit": "get"} {
				if _, ok := doc.Paths[path][method]; !ok {
					t.Errorf("the OpenAPI document lacks %s %s", method, path)
				}
			}
			if strings.Contains(s.Logs(), "session_key") {
				t.Error("the logs mention a session_key")
			}
			if code := s.Stop(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, s.Logs())
			}
		})
	}
}

var seededPassword = regexp.MustCompile(`demo owner (created|exists): name "owner", password "([^"]+)"`)

// TestSeedAndStaffCreate: seed makes the demo owner once and prints a
// password that signs in; staff create makes accounts and refuses bad ones
// with one line.
func TestSeedAndStaffCreate(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t), "SIYU_DATA_DIR": t.TempDir()}
			getenv := func(k string) string { return env[k] }
			cli := func(args ...string) (int, string, string) {
				var out, errb strings.Builder
				code := run(t.Context(), append([]string{"siyu"}, args...), getenv, &out, &errb)
				return code, out.String(), errb.String()
			}
			if code, _, errs := cli("seed"); code != 1 || !strings.Contains(errs, "pending migrations") {
				t.Fatalf("seed before migrating: %d %s", code, errs)
			}
			if code, _, errs := cli("migrate", "up"); code != 0 {
				t.Fatal(errs)
			}
			code, out, errs := cli("seed")
			m := seededPassword.FindStringSubmatch(out)
			if code != 0 || m == nil || m[1] != "created" {
				t.Fatalf("seed: %d %q %s", code, out, errs)
			}
			password := m[2]
			code, out, _ = cli("seed")
			if m := seededPassword.FindStringSubmatch(out); code != 0 || m == nil || m[1] != "exists" || m[2] != password {
				t.Fatalf("second seed: %d %q", code, out)
			}

			pwFile := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(pwFile, []byte("host password 123\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, out, errs := cli("staff", "create", "--name", "Host1", "--role", "host", "--password-file", pwFile); code != 0 || !strings.Contains(out, `created host "host1"`) {
				t.Fatalf("staff create: %d %q %s", code, out, errs)
			}
			for _, tc := range []struct {
				args []string
				exit int
				line string
			}{
				{[]string{"staff", "create", "--name", "host1", "--role", "host", "--password-file", pwFile}, 1, "siyu: a staff account with this name exists"},
				{[]string{"staff", "create", "--name", "x2", "--role", "root", "--password-file", pwFile}, 1, "siyu: unknown role"},
				{[]string{"staff", "create", "--name", "x2", "--role", "host", "--password-file", "/nonexistent"}, 1, "siyu: --password-file"},
				{[]string{"staff", "create", "--name", "x2"}, 2, ""},
				{[]string{"staff", "password", "--name", "nobody", "--password-file", pwFile}, 1, "siyu: staff account not found"},
				{[]string{"staff", "password", "--name", "host1"}, 2, ""},
				{[]string{"staff", "delete"}, 2, ""},
			} {
				code, _, errs := cli(tc.args...)
				if code != tc.exit || (tc.line != "" && (!strings.HasPrefix(errs, tc.line) || strings.Count(strings.TrimSpace(errs), "\n") != 0)) {
					t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
				}
			}

			// The owner forgot their password: the command line sets another.
			ownerPw := filepath.Join(t.TempDir(), "owner-pw")
			if err := os.WriteFile(ownerPw, []byte("a new owner password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, out, errs := cli("staff", "password", "--name", "OWNER", "--password-file", ownerPw); code != 0 || !strings.Contains(out, `password set for owner "owner"`) {
				t.Fatalf("staff password: %d %q %s", code, out, errs)
			}
			password = "a new owner password"

			s := startSiyu(t, env)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
			if st := call(t, c, http.MethodPost, s.URL+"/console/api/v1/session", "", map[string]string{"name": "owner", "password": password}, nil); st != 200 {
				t.Fatalf("sign in with the seeded password = %d", st)
			}
			var list struct {
				Staff []struct{ ID, Name, Role string }
			}
			if st := call(t, c, http.MethodGet, s.URL+"/console/api/v1/staff", "", nil, &list); st != 200 || len(list.Staff) != 2 {
				t.Fatalf("GET /staff = %d %+v", st, list)
			}
			var audit struct{ Entries []struct{ Action string } }
			if st := call(t, c, http.MethodGet, s.URL+"/console/api/v1/audit", "", nil, &audit); st != 200 || len(audit.Entries) < 3 || audit.Entries[0].Action != "staff.sign_in" {
				t.Fatalf("GET /audit = %d %+v", st, audit)
			}

			// The owner disables the host, who can no longer sign in.
			hostID := list.Staff[0].ID
			if list.Staff[0].Name != "host1" {
				hostID = list.Staff[1].ID
			}
			var changed struct {
				DisabledAt *time.Time `json:"disabled_at"`
			}
			if st := call(t, c, http.MethodPatch, s.URL+"/console/api/v1/staff/"+hostID, "", map[string]bool{"disabled": true}, &changed); st != 200 || changed.DisabledAt == nil {
				t.Fatalf("PATCH /staff disable = %d %+v", st, changed)
			}
			var problem struct{ Error struct{ Code string } }
			if st := call(t, http.DefaultClient, http.MethodPost, s.URL+"/console/api/v1/session", "", map[string]string{"name": "host1", "password": "host password 123"}, &problem); st != 403 || problem.Error.Code != "account_disabled" {
				t.Fatalf("a disabled host signs in: %d %+v", st, problem)
			}
			if st := call(t, c, http.MethodPatch, s.URL+"/console/api/v1/staff/"+hostID, "", map[string]any{}, &problem); st != 422 || problem.Error.Code != "nothing_to_change" {
				t.Fatalf("PATCH /staff with nothing = %d %+v", st, problem)
			}
		})
	}
}
