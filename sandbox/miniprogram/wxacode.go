package miniprogram

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"
)

// Errors of getwxacodeunlimit.
var (
	errSceneLength = fail(40169, "invalid length for scene, or the data is not json string")
	errEnvVersion  = fail(40097, "invalid args: env_version")
)

// sceneChars are the characters a scene may hold: digits, letters and
// !#$&'()*+,/:;=?@-._~ (so no %, and no Chinese).
var sceneChars = regexp.MustCompile(`^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$`)

// Image widths the platform draws, in pixels.
const (
	defaultCodeWidth = 430
	minCodeWidth     = 280
	maxCodeWidth     = 1280
)

// QRCode is a mini-program code the platform drew.
type QRCode struct {
	Scene      string    `json:"scene"`
	Page       string    `json:"page,omitempty"`
	EnvVersion string    `json:"env_version"`
	Width      int       `json:"width"`
	IsHyaline  bool      `json:"is_hyaline,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// wxaCodeRequest is the body of getwxacodeunlimit. line_color's channels
// are decimal strings in the documentation's example and numbers in
// others; both are read.
type wxaCodeRequest struct {
	Scene      string `json:"scene"`
	Page       string `json:"page"`
	CheckPath  *bool  `json:"check_path"`
	EnvVersion string `json:"env_version"`
	Width      int    `json:"width"`
	AutoColor  bool   `json:"auto_color"`
	LineColor  *struct {
		R, G, B json.RawMessage
	} `json:"line_color"`
	IsHyaline bool `json:"is_hyaline"`
}

// QRCodes lists the codes drawn so far, oldest first.
func (s *Server) QRCodes() []QRCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.qrcodes)
}

// serveWxaCode is POST wxa/getwxacodeunlimit. On success it answers the
// image itself; on failure JSON.
//
// The platform draws a round "mini-program code"; the sandbox draws a
// standard QR code of the scene, so tests and phones can read it back. The
// image is a PNG (transparent when is_hyaline is set), answered with the
// platform's Content-Type, image/jpeg, which the SDK requires.
func (s *Server) serveWxaCode(w http.ResponseWriter, r *http.Request) *wechatError {
	var req wxaCodeRequest
	if err := decodeBody(r, &req); err != nil {
		return errSceneLength
	}
	switch n := utf8.RuneCountInString(req.Scene); {
	case n == 0 || n > 32:
		return errSceneLength
	case !sceneChars.MatchString(req.Scene):
		return errInvalidScene
	}
	if req.Page != "" {
		checkPath := req.CheckPath == nil || *req.CheckPath
		if strings.HasPrefix(req.Page, "/") || strings.Contains(req.Page, "?") || checkPath && !s.pageExists(req.Page) {
			return errInvalidPage
		}
	}
	env := req.EnvVersion
	switch env {
	case "":
		env = "release"
	case "release", "trial", "develop":
	default:
		return errEnvVersion
	}
	width := req.Width
	if width == 0 {
		width = defaultCodeWidth
	}
	width = min(max(width, minCodeWidth), maxCodeWidth)
	line := color.NRGBA{A: 0xff}
	if req.LineColor != nil && !req.AutoColor {
		line.R, line.G, line.B = channel(req.LineColor.R), channel(req.LineColor.G), channel(req.LineColor.B)
	}
	img, err := drawCode(req.Scene, width, line, req.IsHyaline)
	if err != nil {
		return fail(-1, "system error")
	}

	s.mu.Lock()
	s.qrcodes = append(s.qrcodes, QRCode{Scene: req.Scene, Page: req.Page, EnvVersion: env, Width: width, IsHyaline: req.IsHyaline, CreatedAt: s.cfg.Now()})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "image/jpeg")
	_, _ = w.Write(img)
	return nil
}

// channel reads one colour channel given as a number or a decimal string;
// anything else is 0, as is the platform's default black.
func channel(raw json.RawMessage) uint8 {
	var v any
	_ = json.Unmarshal(raw, &v)
	var n float64
	switch v := v.(type) {
	case float64:
		n = v
	case string:
		_ = json.Unmarshal([]byte(v), &n)
	}
	return uint8(min(max(n, 0), 255))
}

// drawCode draws content as a QR code on a width×width PNG, in line colour
// on white or on a transparent background.
func drawCode(content string, width int, line color.NRGBA, hyaline bool) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	bits := q.Bitmap() // includes the quiet zone
	scale := max(width/len(bits), 1)
	offset := (width - scale*len(bits)) / 2
	background := color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	if hyaline {
		background.A = 0
	}
	img := image.NewPaletted(image.Rect(0, 0, width, width), color.Palette{background, line})
	for y, row := range bits {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex(offset+x*scale+dx, offset+y*scale+dy, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
