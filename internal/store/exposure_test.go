package store

import (
	"errors"
	"testing"
	"time"
)

func TestExposureUsageValidate(t *testing.T) {
	hour := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	ok := ExposureUsage{PrincipalID: "key_a", Route: "claude-*", Provider: "anthropic", ProviderType: "anthropic", Model: "claude-x",
		Hour: hour, Requests: 1, Features: map[string]int64{"tools": 1}, LastUsed: hour.Add(time.Minute)}
	tests := []struct {
		name string
		edit func(*ExposureUsage)
		ok   bool
	}{
		{"valid", func(*ExposureUsage) {}, true},
		{"hour in another zone", func(u *ExposureUsage) { u.Hour = hour.In(time.FixedZone("UTC+1", 3600)) }, true},
		{"zero counts", func(u *ExposureUsage) { u.Requests, u.Features = 0, nil }, true},
		{"no principal", func(u *ExposureUsage) { u.PrincipalID = "" }, false},
		{"no route", func(u *ExposureUsage) { u.Route = "" }, false},
		{"no provider", func(u *ExposureUsage) { u.Provider = "" }, false},
		{"no model", func(u *ExposureUsage) { u.Model = "" }, false},
		{"zero hour", func(u *ExposureUsage) { u.Hour = time.Time{} }, false},
		{"hour not whole", func(u *ExposureUsage) { u.Hour = hour.Add(time.Second) }, false},
		{"half-hour zone", func(u *ExposureUsage) {
			u.Hour = hour.Add(30 * time.Minute).In(time.FixedZone("UTC+5:30", 5*3600+1800))
		}, false},
		{"negative tokens", func(u *ExposureUsage) { u.OutputTokens = -1 }, false},
		{"negative feature", func(u *ExposureUsage) { u.Features = map[string]int64{"tools": -1} }, false},
		{"empty feature name", func(u *ExposureUsage) { u.Features = map[string]int64{"": 1} }, false},
		{"invalid UTF-8", func(u *ExposureUsage) { u.PrincipalName = "\xff" }, false},
		{"NUL", func(u *ExposureUsage) { u.ProviderType = "a\x00b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := ok
			tt.edit(&u)
			err := u.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidUsage) {
				t.Errorf("got %v, want it to wrap ErrInvalidUsage", err)
			}
		})
	}
}
