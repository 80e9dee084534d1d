package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeListsEverySetting keeps the README's configuration table in
// step with the settings Siyu reads.
func TestReadmeListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range settings {
		if !strings.Contains(readme, "`"+s.name+"`") {
			t.Errorf("README.md does not document %s", s.name)
		}
	}
	for _, want := range []string{"make run", "make test"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not show %q", want)
		}
	}
}
