package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/auditverify"
	"github.com/brightline/brightline/internal/auditlog"
	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/fakeupstream"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/provider"
)

type oneKey struct{}

func (oneKey) Authenticate(_ context.Context, key string) (brightline.Principal, error) {
	if key != "bl_reconcile" {
		return brightline.Principal{}, brightline.ErrNotFound
	}
	return brightline.Principal{ID: "key_reconcile", Roles: []string{"user"}}, nil
}

// TestReconcile: a provider's record mixing requests the gateway forwarded
// with requests sent around it (no receipt, a receipt taken from another
// request, a replay) names exactly the ones sent around it, and exits 1;
// the forwarded ones alone reconcile, and exit 0.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	signer, vkey, _, err := auditlog.LoadOrCreateKey(filepath.Join(dir, "log.key"), "reconcile.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	l, err := auditlog.Open(ctx, auditlog.Config{Dir: logDir, Signer: signer, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	// The policy in force, activated under a manifest signed by both the
	// operator and the vendor.
	opSkey, opVkey, _ := bundle.GenerateKey("operator")
	vendorSkey, vendorVkey, _ := bundle.GenerateKey("vendor")
	trust := auditverify.TrustSet{Keys: []string{opVkey, vendorVkey}, Threshold: 2}
	pol := policy.Default().WithVersion(1).WithTrust(trust.Hash())
	m := bundle.Manifest{Version: 1, Activate: time.Now().UTC().Truncate(time.Second)}
	sum, _ := hex.DecodeString(strings.TrimPrefix(pol.Hash(), "sha256:"))
	copy(m.PolicySHA256[:], sum)
	signed, err := bundle.Sign([]byte(m.Text()), opSkey)
	if err == nil {
		signed, err = bundle.Sign(signed, vendorSkey)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, auditlog.Entry{Kind: auditlog.KindPolicyActivation, PolicyHash: pol.Hash(), PolicyVersion: 1,
		TrustHash: trust.Hash(), Action: "activated", Detail: map[string]string{"note": string(signed)}}, nil); err != nil {
		t.Fatal(err)
	}

	up := &fakeupstream.Server{Record: true}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	p, err := provider.NewHTTP(provider.HTTPConfig{Name: "vendor", Kind: provider.KindAnthropic, BaseURL: upSrv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	router := &provider.Router{Routes: []provider.Route{{Model: "*", Targets: []provider.Target{{Provider: p}}}}}
	gw := httptest.NewServer(gateway.New(gateway.Config{Audit: l, Policy: gateway.StaticPolicy{Policy: pol}}, oneKey{}, router))
	defer gw.Close()
	for _, text := range []string{"one", "two", "three"} {
		req, _ := http.NewRequest("POST", gw.URL+"/v1/messages", strings.NewReader(`{"model":"claude-x","max_tokens":10,"messages":[{"role":"user","content":"`+text+`"}]}`))
		req.Header.Set("x-api-key", "bl_reconcile")
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	}

	// The provider's record: what the gateway forwarded, then what was
	// sent around it.
	served := up.Requests()
	var record bytes.Buffer
	line := func(receipt string, body []byte) {
		h := sha256.Sum256(body)
		b, _ := json.Marshal(map[string]string{"time": time.Now().UTC().Format(time.RFC3339), "receipt": receipt, "body_sha256": hex.EncodeToString(h[:])})
		record.Write(append(b, '\n'))
	}
	for _, r := range served {
		line(r.Header.Get(auditverify.UpstreamHeader), r.Body)
	}
	forwarded := record.Len()
	line("", served[0].Body)                                                                     // line 4: no receipt
	line(served[0].Header.Get(auditverify.UpstreamHeader), []byte(`{"model":"claude-x","x":1}`)) // line 5: another request's receipt
	line(served[1].Header.Get(auditverify.UpstreamHeader), served[1].Body)                       // line 6: a replay

	// Wait until the log's checkpoint covers the last forward entry.
	lv, _ := auditverify.NewPolicy(vkey, nil, 0)
	last, err := auditverify.ParseUpstreamReceipt(served[2].Header.Get(auditverify.UpstreamHeader), lv.Log)
	if err != nil {
		t.Fatal(err)
	}
	src := auditverify.NewSource(logDir, nil, nil)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(20 * time.Second); ; <-tick.C {
		if c, err := auditverify.FetchCheckpoint(ctx, src, lv); err == nil && c.Size > last.Receipt.Index {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint covering the forward entries within 20s")
		}
	}

	trustFile := filepath.Join(dir, "trust")
	os.WriteFile(trustFile, []byte(opVkey+"\n"+vendorVkey+"\nthreshold 2\n"), 0o600)
	reconcile := func(content []byte) (string, error) {
		f := filepath.Join(t.TempDir(), "served.jsonl")
		os.WriteFile(f, content, 0o600)
		var out, errb bytes.Buffer
		err := run(ctx, []string{"audit", "reconcile", "-log", logDir, "-key", vkey, "-trust", trustFile, f}, &env{stdout: &out, stderr: &errb})
		return out.String() + errb.String(), err
	}

	out, err := reconcile(record.Bytes()[:forwarded])
	if err != nil || !strings.Contains(out, "3 requests: 3 in the log under a signed policy, 0 pending (within the MMD), 0 findings") {
		t.Errorf("forwarded only: got %v\n%s", err, out)
	}
	out, err = reconcile(record.Bytes())
	if x, ok := errors.AsType[errExit](err); !ok || x.code != 1 {
		t.Errorf("mixed: got %v, want exit status 1", err)
	}
	got := regexp.MustCompile(`(?m)^line (\d+): (\w+):`).FindAllStringSubmatch(out, -1)
	want := [][2]string{{"4", "missing_receipt"}, {"5", "body_mismatch"}, {"6", "replayed"}}
	if len(got) != len(want) {
		t.Fatalf("got findings\n%s\nwant lines 4, 5 and 6", out)
	}
	for i, w := range want {
		if got[i][1] != w[0] || got[i][2] != w[1] {
			t.Errorf("finding %d: got line %s %s, want line %s %s", i, got[i][1], got[i][2], w[0], w[1])
		}
	}
}
