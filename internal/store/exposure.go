package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ExposureUsage is one principal's traffic through one provider and model
// for one route in one hour: the aggregate the exposure inventory is built
// from (see internal/exposure). It holds counts, never content.
type ExposureUsage struct {
	PrincipalID   string
	PrincipalName string // the latest name seen; display only
	Route         string // the model name the client asked for
	Provider      string // the configured provider's name
	ProviderType  string // anthropic, openai, openai-compatible, simulated
	Model         string // the model the provider served
	// Hour is the start of the hour the traffic fell in: a whole hour in UTC.
	Hour time.Time
	// Requests, InputTokens and OutputTokens are totals over the hour.
	Requests, InputTokens, OutputTokens int64
	// Features counts the requests that used each feature, e.g.
	// {"tools": 3, "streaming": 10}. Nil and empty mean none.
	Features map[string]int64
	// LastUsed is the latest use within the hour.
	LastUsed time.Time
}

// Validate reports what is wrong with adding u, or nil; the error wraps
// [ErrInvalidUsage]. Implementations of
// [Exposure.AddExposure] call it so that they all reject the same inputs.
func (u ExposureUsage) Validate() error {
	if u.PrincipalID == "" || u.Route == "" || u.Provider == "" || u.Model == "" {
		return fmt.Errorf("%w: exposure usage %q/%q/%q/%q: principal, route, provider and model must be set", ErrInvalidUsage, u.PrincipalID, u.Route, u.Provider, u.Model)
	}
	if u.Hour.IsZero() || !u.Hour.Equal(u.Hour.Truncate(time.Hour)) {
		return fmt.Errorf("%w: exposure usage of %s: hour %v is not the start of an hour", ErrInvalidUsage, u.PrincipalID, u.Hour)
	}
	if u.Requests < 0 || u.InputTokens < 0 || u.OutputTokens < 0 {
		return fmt.Errorf("%w: exposure usage of %s: negative count", ErrInvalidUsage, u.PrincipalID)
	}
	for f, n := range u.Features {
		if f == "" || n < 0 {
			return fmt.Errorf("%w: exposure usage of %s: feature %q has count %d", ErrInvalidUsage, u.PrincipalID, f, n)
		}
	}
	for _, s := range []string{u.PrincipalID, u.PrincipalName, u.Route, u.Provider, u.ProviderType, u.Model} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return fmt.Errorf("%w: exposure usage of %s: a field is not valid UTF-8 text: %q", ErrInvalidUsage, u.PrincipalID, s)
		}
	}
	return nil
}

// ErrInvalidUsage is wrapped by the errors [ExposureUsage.Validate] returns,
// so that a caller can tell a bad batch (which will never succeed) from a
// storage failure (which may).
var ErrInvalidUsage = errors.New("invalid exposure usage")

// ExposureFilter selects exposure usage. The zero value selects everything.
type ExposureFilter struct {
	// PrincipalID, if set, selects one principal's usage.
	PrincipalID string
	// Since, if set, selects the hours that end after it: an hour bucket is
	// included when any part of it is at or after Since.
	Since time.Time
}

// Exposure stores the hourly aggregates of which provider and model served
// whom.
//
// Unlike other stores, the times here are the caller's: Hour and LastUsed
// say when traffic happened, which only the recorder knows. Stores keep
// them in UTC with microsecond precision.
//
// Storage failures are never brightline.ErrNotFound or ErrInvalidUsage.
type Exposure interface {
	// AddExposure adds each usage to the stored aggregate with the same
	// principal, route, provider, model and hour, in one transaction:
	// counts and feature counts are summed, LastUsed becomes the later of
	// the two, and PrincipalName and ProviderType take the new value when
	// it is not empty. If any usage is invalid (see
	// [ExposureUsage.Validate]) nothing is added and the error wraps
	// ErrInvalidUsage. A retry after an ambiguous failure (a timeout during
	// commit) may count the batch twice.
	AddExposure(ctx context.Context, usage []ExposureUsage) error

	// ExposureUsage returns the hourly aggregates f selects, ordered by
	// principal, route, provider, model and hour. An empty result is an
	// empty slice and no error. Safe to retry.
	ExposureUsage(ctx context.Context, f ExposureFilter) ([]ExposureUsage, error)

	// ExposureTotals returns the hourly aggregates f selects summed over
	// their hours, one per principal, route, provider and model, in that
	// order. Hour is the first hour with traffic, LastUsed the latest use,
	// and PrincipalName and ProviderType those of the latest hour. It is
	// what reports read: the hours stay in the store. An empty result is
	// an empty slice and no error. Safe to retry.
	ExposureTotals(ctx context.Context, f ExposureFilter) ([]ExposureUsage, error)
}
