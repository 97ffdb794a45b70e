package main

import (
	"context"
	"errors"
)

func openPostgres(ctx context.Context, url string) (dataStore, error) {
	return nil, errors.New("store.driver postgres: not built yet")
}
