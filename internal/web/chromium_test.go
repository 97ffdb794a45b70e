package web

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brightline/brightline/internal/approval"
)

// chromiumPath finds a Chromium or Chrome binary, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestChromiumApproves drives the console in real headless Chromium: an
// officer signs in, sees the held call, approves it, and denies another
// with a reason; the agent can then run the approved call, once.
//
// Set BRIGHTLINE_SCREENSHOT=file.png to keep a picture of the page.
func TestChromiumApproves(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		if os.Getenv("BRIGHTLINE_REQUIRE_CHROMIUM") != "" {
			t.Fatal("BRIGHTLINE_REQUIRE_CHROMIUM is set but no chromium binary is on PATH")
		}
		t.Skip("no chromium binary on PATH (Debian: apt-get install chromium); skipping the browser test")
	}
	svc, srv, _ := newService(t)
	a := hold(t, svc, "user: track 7 is inbound and hostile; intercept it\nassistant: calling fire_interceptor")
	b := hold(t, svc, "")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1100, 1400))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// A bound on the whole run, so a wedged browser fails the test rather
	// than hanging it; no step is timed.
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	// click submits a form and waits for the page that answers it.
	click := func(sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("clicking %s: %v", sel, err)
		}
		if resp.Status != 200 {
			t.Fatalf("clicking %s: the page answered HTTP %d", sel, resp.Status)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/ui/approvals"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), "bl_officer"),
	); err != nil {
		t.Fatalf("opening the console: %v", err)
	}
	click("#login")
	sec := "#" + a.ID
	tool, args, excerpt, details := text(sec+" .tool"), text(sec+" .args"), text(sec+" .excerpt"), text(sec+" dl")
	if tool != "fire_interceptor" || !strings.Contains(args, `"target": "track-7"`) ||
		!strings.Contains(excerpt, "inbound and hostile") || !strings.Contains(details, "targeting agent") || !strings.Contains(details, "Time left") {
		t.Errorf("the page shows tool %q, args %q, excerpt %q, details %q", tool, args, excerpt, details)
	}
	if path := os.Getenv("BRIGHTLINE_SCREENSHOT"); path != "" {
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(path, png, 0o644)
		}
	}

	click("#approve-" + a.ID)
	if notice := text("#notice"); !strings.Contains(notice, "Approved "+a.ID) {
		t.Errorf("notice after approving: got %q", notice)
	}

	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("reason-"+b.ID), "track 9 is a civil airliner")); err != nil {
		t.Fatalf("typing a reason: %v", err)
	}
	click("#deny-" + b.ID)
	if notice := text("#notice"); !strings.Contains(notice, "Denied "+b.ID) {
		t.Errorf("notice after denying: got %q", notice)
	}
	if empty := text("#empty"); !strings.Contains(empty, "Nothing is waiting") {
		t.Errorf("queue after both decisions: got %q", empty)
	}

	bg := context.Background()
	got, err := svc.Get(bg, a.ID)
	if err != nil || got.Status != approval.StatusApproved || len(got.Votes) != 1 || got.Votes[0].By.ID != officer.ID {
		t.Fatalf("after the browser approved: got %+v, %v; want approved by %s", got, err, officer.ID)
	}
	if gb, _ := svc.Get(bg, b.ID); gb.Status != approval.StatusDenied || gb.Votes[0].Reason != "track 9 is a civil airliner" {
		t.Errorf("after the browser denied: got %q %+v", gb.Status, gb.Votes)
	}
	tok, err := svc.Token(bg, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := approval.VerifyToken(svc.PublicKey(), tok)
	if err != nil || claims.ApprovalID != a.ID || claims.ArgsDigest != a.ArgsDigest || len(claims.Approvers) != 1 || claims.Approvers[0] != officer.ID {
		t.Fatalf("token: got %+v, %v", claims, err)
	}
	// The agent runs the approved call once; a second run is refused.
	if _, err := svc.Consume(bg, tok, approval.Call{Presenter: agent, Upstream: approval.UpstreamGateway, Tool: "fire_interceptor", Arguments: []byte(fireArgs)}); err != nil {
		t.Fatalf("running the approved call: %v", err)
	}
	if _, err := svc.Consume(bg, tok, approval.Call{Presenter: agent, Upstream: approval.UpstreamGateway, Tool: "fire_interceptor", Arguments: []byte(fireArgs)}); err == nil {
		t.Error("running it again: got no error, want a refusal")
	}
}
