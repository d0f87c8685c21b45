package check

import "testing"

// TestPlaceholderSecret: values written to stand for a key are placeholders,
// long random keys are not.
func TestPlaceholderSecret(t *testing.T) {
	for _, v := range []string{"EMPTY", "dummy", "sk-1234", "sk-local", "sk-xxx", "sk-no-key-required", "sk-dummy", "sk-test", "sk-1234567890", "sk-aaaaaaaaaaaa", "your-api-key-here", "changeme123", "sk-fake-key-for-tests", "placeholder-token", "none", "unused-key", "optional-key-for-testing", "insecure-dev-key"} {
		if !placeholderSecret(v) {
			t.Errorf("placeholderSecret(%q) = false, want true (a placeholder)", v)
		}
	}
	for _, v := range []string{"sk-proj-7fK2pQ9xLm3vR8tY1wZ4", "sk-9fJ3kL2mQ8pR7tX1", "3F9A1C7E5B2D4068A1E9C3B7D5F20481", "s3cr3t-value-here", "sk-written-here", "hf_realLookingTokenValue"} {
		if placeholderSecret(v) {
			t.Errorf("placeholderSecret(%q) = true, want false (a real-looking secret)", v)
		}
	}
}
