// loadgen: a closed-loop Put load generator built on etcd's own Go client (clientv3),
// for benchmarks/bench_store.py.  Prints one JSON object: ops_per_s, p50_ms, p99_ms.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "member to send to")
	conc := flag.Int("concurrency", 64, "clients, each with one request outstanding")
	warmup := flag.Float64("warmup", 2, "seconds not measured")
	duration := flag.Float64("duration", 10, "seconds measured")
	keys := flag.Int("keys", 100000, "key space")
	valueBytes := flag.Int("value-bytes", 100, "value size")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cli.Close()
	value := string(make([]byte, *valueBytes))
	start := time.Now()
	from := start.Add(time.Duration(*warmup * float64(time.Second)))
	end := from.Add(time.Duration(*duration * float64(time.Second)))
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	for c := 0; c < *conc; c++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			var mine []float64
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				key := fmt.Sprintf("%016d", rng.Intn(*keys))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := cli.Put(ctx, key, value)
				cancel()
				if err == nil && t0.After(from) {
					mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(int64(c + 1))
	}
	wg.Wait()
	sort.Float64s(lat)
	pick := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(q * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return lat[i]
	}
	out := map[string]float64{"ops_per_s": float64(len(lat)) / *duration, "p50_ms": pick(0.5), "p99_ms": pick(0.99)}
	json.NewEncoder(os.Stdout).Encode(out)
}
