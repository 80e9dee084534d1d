package miniprogram_test

import (
	"bytes"
	"image"
	"image/color"
	_ "image/png" // the sandbox's codes are PNGs
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/silenceper/wechat/v2/miniprogram/qrcode"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// readCode decodes a drawn code back to its text.
func readCode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the code does not decode: %v", err)
	}
	return res.GetText()
}

func TestWxaCodeThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Pages: []string{"pages/live/index"}})
	no := false
	tests := []struct {
		name        string
		req         qrcode.QRCoder
		width       int
		line        color.NRGBA
		transparent bool
	}{
		{name: "defaults", req: qrcode.QRCoder{Scene: "show=42&inv=u7"}, width: 430, line: color.NRGBA{A: 255}},
		{name: "released page", req: qrcode.QRCoder{Scene: "s=1", Page: "pages/live/index", Width: 600}, width: 600, line: color.NRGBA{A: 255}},
		{name: "unchecked page", req: qrcode.QRCoder{Scene: "s=1", Page: "pages/draft/index", CheckPath: &no}, width: 430, line: color.NRGBA{A: 255}},
		{name: "longest scene, every allowed symbol", req: qrcode.QRCoder{Scene: "!#$&'()*+,/:;=?@-._~0123456789Az", Width: 280}, width: 280, line: color.NRGBA{A: 255}},
		{name: "width clamped up", req: qrcode.QRCoder{Scene: "a", Width: 100}, width: 280, line: color.NRGBA{A: 255}},
		{name: "width clamped down", req: qrcode.QRCoder{Scene: "a", Width: 5000}, width: 1280, line: color.NRGBA{A: 255}},
		{name: "line colour", req: qrcode.QRCoder{Scene: "brand", LineColor: &qrcode.Color{R: "200", G: "30", B: "60"}}, width: 430, line: color.NRGBA{R: 200, G: 30, B: 60, A: 255}},
		{name: "auto colour wins", req: qrcode.QRCoder{Scene: "brand", AutoColor: true, LineColor: &qrcode.Color{R: "200", G: "30", B: "60"}}, width: 430, line: color.NRGBA{A: 255}},
		{name: "transparent", req: qrcode.QRCoder{Scene: "glass", IsHyaline: true, EnvVersion: "trial"}, width: 430, line: color.NRGBA{A: 255}, transparent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := f.mp.GetQRCode().GetWXACodeUnlimit(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := image.Decode(bytes.NewReader(b))
			if err != nil || format != "png" {
				t.Fatalf("answer is not a PNG: %s, %v", format, err)
			}
			if got := img.Bounds().Dx(); got != tt.width || img.Bounds().Dy() != tt.width {
				t.Fatalf("image is %v, want %d square", img.Bounds(), tt.width)
			}
			if got := readCode(t, img); got != tt.req.Scene {
				t.Fatalf("code holds %q, want %q", got, tt.req.Scene)
			}
			corner := color.NRGBAModel.Convert(img.At(0, 0)).(color.NRGBA)
			if seeThrough := corner.A == 0; seeThrough != tt.transparent {
				t.Fatalf("background %v, transparent = %v", corner, tt.transparent)
			}
			if !hasColor(img, tt.line) {
				t.Fatalf("no pixel has the line colour %v", tt.line)
			}
		})
	}
	codes := f.srv.QRCodes()
	if len(codes) != len(tests) || codes[1].Page != "pages/live/index" || codes[8].EnvVersion != "trial" || codes[0].EnvVersion != "release" {
		t.Fatalf("recorded codes = %+v", codes)
	}
}

func hasColor(img image.Image, want color.NRGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == want {
				return true
			}
		}
	}
	return false
}

func TestWxaCodeErrors(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Pages: []string{"pages/live/index"}})
	tests := []struct {
		name string
		req  qrcode.QRCoder
		want int64
	}{
		{name: "no scene", req: qrcode.QRCoder{}, want: 40169},
		{name: "33 characters", req: qrcode.QRCoder{Scene: "123456789012345678901234567890123"}, want: 40169},
		{name: "percent", req: qrcode.QRCoder{Scene: "a%20b"}, want: 40129},
		{name: "chinese", req: qrcode.QRCoder{Scene: "直播"}, want: 40129},
		{name: "page not released", req: qrcode.QRCoder{Scene: "a", Page: "pages/nope/index"}, want: 41030},
		{name: "page with a leading slash", req: qrcode.QRCoder{Scene: "a", Page: "/pages/live/index"}, want: 41030},
		{name: "page with a query", req: qrcode.QRCoder{Scene: "a", Page: "pages/live/index?x=1"}, want: 41030},
		{name: "unknown env_version", req: qrcode.QRCoder{Scene: "a", EnvVersion: "beta"}, want: 40097},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.mp.GetQRCode().GetWXACodeUnlimit(tt.req)
			if got := errcode(t, err); got != tt.want {
				t.Fatalf("errcode = %d, want %d (%v)", got, tt.want, err)
			}
		})
	}
	if n := len(f.srv.QRCodes()); n != 0 {
		t.Fatalf("failed requests recorded %d codes", n)
	}
}
