package operator

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The operator page in a real browser: Debian's headless Chromium, driven
// over the DevTools protocol by chromedp.

const (
	// browserTimeout bounds everything one browser session does.
	browserTimeout = 60 * time.Second
	// screenshotWidth and screenshotHeight are the window the page is
	// rendered in.
	screenshotWidth, screenshotHeight = 1280, 900
	// minInkFraction: a page that rendered its tables has far more than
	// this share of pixels that are not the background; a blank or error
	// page has next to none.
	minInkFraction = 0.02
)

// chromium finds the browser: RUSTGUARD_CHROMIUM_BIN, else chromium on the
// PATH (make deps installs Debian's package).
func chromium(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("RUSTGUARD_CHROMIUM_BIN"); bin != "" {
		return bin
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (make deps-apt)")
	return ""
}

// browse starts a headless Chromium for one test; it is stopped (its
// process killed by the allocator, which started it) when the test ends.
func browse(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(screenshotWidth, screenshotHeight),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// checkScreenshot: a PNG of the window's size that is not blank.
func checkScreenshot(t *testing.T, name string, data []byte) {
	t.Helper()
	if dir := os.Getenv("RUSTGUARD_SCREENSHOT_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), data, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() < screenshotWidth/2 || b.Dy() < screenshotHeight/2 {
		t.Errorf("%s: %dx%d, want about %dx%d", name, b.Dx(), b.Dy(), screenshotWidth, screenshotHeight)
	}
	if f := inkFraction(img); f < minInkFraction {
		t.Errorf("%s: %.3f of the pixels differ from the background, want at least %.2f (a blank page?)", name, f, minInkFraction)
	}
}

// inkFraction is the share of pixels that differ from the top-left
// corner's colour well below the header (the page's background).
func inkFraction(img image.Image) float64 {
	b := img.Bounds()
	bg := img.At(b.Min.X+2, b.Max.Y-2)
	br, bgc, bb, _ := bg.RGBA()
	ink, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if absDiff(r, br)+absDiff(g, bgc)+absDiff(bl, bb) > 0x1800 {
				ink++
			}
		}
	}
	return float64(ink) / float64(total)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// operatorPage signs in through the login form, looks at the overview
// and follows the cheater's link to the cross-region timeline.
func operatorPage(t *testing.T, f *fleet) {
	ctx := browse(t)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	token := chromedp.ID("token")
	must("open the page", chromedp.Do(ctx, chromedp.Navigate(f.centralURL+"/ui/"), chromedp.WaitVisible(token)))
	loginURL, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if !strings.HasSuffix(loginURL, "/ui/login") {
		t.Fatalf("signed out, the page is %s, want the login form", loginURL)
	}

	// A wrong token: the form again, with the reason.
	must("wrong token", chromedp.Do(ctx,
		chromedp.SendKeys(token, "not-the-token-0123456789"),
		chromedp.Submit(token),
		chromedp.WaitVisible(chromedp.CSS("p.error"))))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.error")))
	must("read the error", err)
	if !strings.Contains(msg, "Wrong token") {
		t.Errorf("wrong token: the page says %q", msg)
	}

	must("sign in", chromedp.Do(ctx,
		chromedp.SendKeys(token, adminToken),
		chromedp.Submit(token),
		chromedp.WaitVisible(chromedp.ID("fleet"))))
	overview, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must("read the overview", err)
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must("screenshot", err)
	checkScreenshot(t, "operator-overview", shot)
	for _, want := range []string{
		"Fleet by region", "edge-eu-1", "edge-us-1", "passing", // the fleet from Consul, by region
		"Attack mode", "Live detections", "badpackets.invalid_pitch", "crash.move_non_finite",
		"Players flagged across regions", `href="/ui/players/cheater"`,
		jaegerUI + "/trace/", // detections link to their traces
		"Sign out",
	} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview lacks %q", want)
		}
	}

	must("open the cheater's timeline", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#top a[href="/ui/players/cheater"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.timeline"))))
	timeline, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	must("read the timeline", err)
	shot, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must("screenshot", err)
	checkScreenshot(t, "operator-timeline", shot)
	for _, want := range []string{"<th>eu</th><th>us</th>", "badpackets.invalid_pitch", "crash.move_non_finite", jaegerUI + "/trace/"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}

	// Signing out ends the session in this browser.
	must("sign out", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("form.logout button")),
		chromedp.WaitVisible(token),
		chromedp.Navigate(f.centralURL+"/ui/"),
		chromedp.WaitVisible(token)))
	after, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if !strings.HasSuffix(after, "/ui/login") {
		t.Errorf("after signing out the page is %s", after)
	}
}
