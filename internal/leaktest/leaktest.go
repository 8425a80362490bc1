// Package leaktest is the TestMain of every package: it runs the tests, then fails the
// run if any goroutine outlived them (goleak), after closing the idle keep-alive
// connections that http.DefaultClient keeps on purpose.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs m and exits with its code, or 1 when goroutines leaked; after, when
// given, run once the tests are done.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaktest: goroutines outlived the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
