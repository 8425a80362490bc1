package api_test

import (
	"testing"

	"github.com/belong-loyalty/belong/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, writeExamples) }
