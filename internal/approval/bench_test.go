package approval_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/approval"
)

// benchArgs is a tool call of typical size.
var benchArgs = json.RawMessage(`{"target":{"track":"T-0007","bearing":271.5,"range_km":42.25},"salvo":2,"weapon":"interceptor","notes":"inbound, IFF negative","constraints":["no-fly-zone-3","civil-air-corridor-7"]}`)

func BenchmarkDigest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := approval.Digest("fire_interceptor", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTokenSignVerify(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(nil)
	pub := key.Public().(ed25519.PublicKey)
	c := approval.TokenClaims{Version: 1, ApprovalID: "apr_01M84TDBMGSDS4SZ1CYFD7XBWX", Tool: "fire_interceptor",
		ArgsDigest: "dae8f2708d7c9d338ede1c28610838b7c35419ac1cd360dddd88c63a7fc618db", Requester: "key_agent",
		Approvers: []string{"key_off1", "key_off2"}, ExpiresAt: time.Now()}
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := approval.SignToken(key, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	tok, _ := approval.SignToken(key, c)
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := approval.VerifyToken(pub, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConsume measures Service.Consume end to end on SQLite: verify,
// digest, the compare-and-swap (one fsync'd write) and the audit record.
func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	toks := make([]string, 0, 64)
	next := func() string {
		if len(toks) == 0 {
			b.StopTimer()
			for range cap(toks) {
				a, err := f.svc.Create(ctx, approval.Request{Principal: agent, Tool: "fire_interceptor", Arguments: benchArgs,
					Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, TTL: time.Hour})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.svc.Approve(ctx, a.ID, officer1); err != nil {
					b.Fatal(err)
				}
				tok, err := f.svc.Token(ctx, a.ID)
				if err != nil {
					b.Fatal(err)
				}
				toks = append(toks, tok)
			}
			f.rec.mu.Lock()
			f.rec.events = nil
			f.rec.mu.Unlock()
			b.StartTimer()
		}
		t := toks[len(toks)-1]
		toks = toks[:len(toks)-1]
		return t
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Consume(ctx, next(), agentCall("fire_interceptor", benchArgs)); err != nil {
			b.Fatal(err)
		}
	}
}
