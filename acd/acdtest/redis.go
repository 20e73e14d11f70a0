package acdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClient connects to the test Redis named by HOTLINE_REDIS_URL (`make test` and
// `scripts/services.sh env` set it) and closes the client when the test ends.
func RedisClient(t testing.TB) *redis.Client {
	t.Helper()
	u := os.Getenv("HOTLINE_REDIS_URL")
	if u == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`, or `scripts/services.sh up` and `eval \"$(scripts/services.sh env)\"` first")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("HOTLINE_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// RedisPrefix returns a key prefix of the test's own, "hotline-test-<name>-<random>", and
// deletes its keys (all under the hash tag {prefix}) when the test ends.
func RedisPrefix(t testing.TB, name string) string {
	t.Helper()
	c := RedisClient(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "hotline-test-" + name + "-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var keys []string
		iter := c.Scan(ctx, 0, "{"+prefix+"}*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		err := iter.Err()
		if err == nil && len(keys) > 0 {
			err = c.Unlink(ctx, keys...).Err()
		}
		if err != nil {
			t.Logf("clean up Redis keys of %s: %v", prefix, err)
		}
	})
	return prefix
}
