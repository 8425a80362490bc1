package belong_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/belong-loyalty/belong"
)

func TestErrorsMatchTheirSentinelAndKeepTheirKind(t *testing.T) {
	notFound := belong.New(belong.ENOTFOUND, "member_not_found", "member not found")
	err := fmt.Errorf("read moment: %w", notFound.With("no member has id %q", "m-1"))
	if !errors.Is(err, notFound) {
		t.Fatal("a specific message no longer matches its sentinel")
	}
	if errors.Is(err, belong.New(belong.ENOTFOUND, "draft_not_found", "")) {
		t.Fatal("another code matched")
	}
	if belong.KindOf(err) != belong.ENOTFOUND || belong.KindOf(errors.New("boom")) != belong.EINTERNAL {
		t.Fatalf("kinds: %q %q", belong.KindOf(err), belong.KindOf(errors.New("boom")))
	}
	var e *belong.Error
	if !errors.As(err, &e) || e.Message != `no member has id "m-1"` || e.Code != "member_not_found" {
		t.Fatalf("unwrapped %+v", e)
	}
}
