package accounts

import (
	"strings"
	"testing"
)

// A hash checks its own password and no other, records its parameters, and a
// malformed or tampered string is refused rather than matched.
func TestPasswordHashes(t *testing.T) {
	h, err := hashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("hash %q: want a PHC argon2id string with its parameters", h)
	}
	if h2, _ := hashPassword("correct horse battery staple"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := checkPassword("correct horse battery staple", h); !ok || err != nil {
		t.Fatalf("the right password: %v %v", ok, err)
	}
	if ok, err := checkPassword("correct horse battery stapler", h); ok || err != nil {
		t.Fatalf("a wrong password: %v %v", ok, err)
	}
	parts := strings.Split(h, "$")
	for name, bad := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuv",
		"other version":  strings.Replace(h, "v=19", "v=16", 1),
		"zero passes":    strings.Replace(h, "t=2", "t=0", 1),
		"salt not b64":   strings.Join(append(append([]string{}, parts[:4]...), "!!!", parts[5]), "$"),
		"no hash":        strings.Join(append(append([]string{}, parts[:5]...), ""), "$"),
		"missing fields": "$argon2id$v=19$m=65536,t=2,p=2$",
	} {
		if ok, err := checkPassword("correct horse battery staple", bad); ok || err == nil {
			t.Errorf("%s: %v %v, want an error", name, ok, err)
		}
	}
	if a, b := GeneratePassword(), GeneratePassword(); a == b || len(a) < MinPasswordLength {
		t.Fatalf("generated %q and %q", a, b)
	}
}
