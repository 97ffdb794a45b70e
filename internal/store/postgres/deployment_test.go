package postgres

import (
	"testing"
	"time"

	"github.com/brightline/brightline/internal/store"
	"github.com/brightline/brightline/internal/store/storetest"
)

func TestDeploymentConformance(t *testing.T) {
	storetest.TestDeployment(t, func(t *testing.T, now func() time.Time) store.Deployment {
		db := openTemp(t)
		db.Now = now
		return db
	})
}
