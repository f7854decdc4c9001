/// FlowFacts answers FlowAnalysis's two questions about a point of the step graph (a step, or
/// `end`): has step `k` run on every path to it, and on some path? It keeps no set of steps
/// per point: such sets grow with the square of the step count (10,000 chained steps kept 100
/// million step numbers, 1.6 GB).
///
/// - Every path: the steps that have run on every path to `t` are the strict dominators of `t`
///   without an `if:` guard (a guarded step is on every path but may have been skipped).
///   Dominators form a tree; each point keeps its immediate dominator and jump pointers.
/// - Some path: the steps from which `t` can be reached, kept as sorted disjoint ranges of
///   step numbers. In list order these runs are long (a chain is one range, a branch of a
///   route two), so a point keeps a few ranges however many steps come before it.
struct FlowFacts {
    var reached: [Bool]
    var guarded: [Bool]
    var dominators: DominatorTree
    var reaching: [StepRanges]

    /// `steps` steps and `end`, nothing reached yet.
    init(guarded: [Bool]) {
        self.guarded = guarded
        reached = Array(repeating: false, count: guarded.count + 1)
        dominators = DominatorTree(count: guarded.count + 1)
        reaching = Array(repeating: StepRanges(), count: guarded.count + 1)
    }

    var end: Int { guarded.count }

    /// Whether step `k` has run on every path to point `t`. A step no path reaches is checked
    /// against every step before it, which avoids a cascade of follow-on errors; an unreached
    /// `end` against none.
    func mustHaveRun(_ k: Int, before t: Int) -> Bool {
        guard reached[t] else { return t < end && k < t }
        return k != t && !guarded[k] && dominators.isAncestor(k, of: t)
    }

    /// Whether step `k` has run on some path to point `t`.
    func mayHaveRun(_ k: Int, before t: Int) -> Bool {
        guard reached[t] else { return t < end && k < t }
        return reaching[t].contains(k)
    }

    /// How many numbers the facts keep, for the test that keeps them linear in the step count.
    var storedFacts: Int { dominators.storedFacts + reaching.reduce(0) { $0 + $1.storedFacts } }
}

/// A DominatorTree over points numbered in a topological order (every edge goes forward, so a
/// point's dominators all come before it). Each point keeps its depth and its 2^j-th
/// ancestors, so asking for an ancestor climbs in O(log n) jumps rather than one step at a time.
struct DominatorTree {
    private var depth: [Int]
    /// `up[t][j]` is the ancestor 2^j levels above `t`; empty for the root and unset points.
    private var up: [[Int]]

    init(count: Int) {
        depth = Array(repeating: 0, count: count)
        up = Array(repeating: [], count: count)
    }

    /// Makes `parent` the immediate dominator of `t`; `parent` must be placed already.
    mutating func place(_ t: Int, under parent: Int) {
        depth[t] = depth[parent] + 1
        var jumps = [parent]
        while let top = jumps.last, jumps.count - 1 < up[top].count {
            jumps.append(up[top][jumps.count - 1])
        }
        up[t] = jumps
    }

    /// The ancestor of `t` at depth `d` (at most `t`'s own depth).
    func ancestor(of t: Int, atDepth d: Int) -> Int {
        var t = t
        var climb = depth[t] - d
        var j = 0
        while climb > 0 {
            if climb & 1 == 1 { t = up[t][j] }
            climb >>= 1
            j += 1
        }
        return t
    }

    /// Whether `a` is `b` or above it.
    func isAncestor(_ a: Int, of b: Int) -> Bool {
        depth[a] <= depth[b] && ancestor(of: b, atDepth: depth[a]) == a
    }

    /// The nearest point above both `a` and `b` (or one of them): where their paths from the
    /// entry last meet.
    func meet(_ a: Int, _ b: Int) -> Int {
        let d = min(depth[a], depth[b])
        var a = ancestor(of: a, atDepth: d)
        var b = ancestor(of: b, atDepth: d)
        if a == b { return a }
        // Climb both by the largest jumps that keep them apart; then their parent is shared.
        for j in (0..<up[a].count).reversed() where j < up[a].count && up[a][j] != up[b][j] {
            a = up[a][j]
            b = up[b][j]
        }
        return up[a][0]
    }

    var storedFacts: Int { depth.count + up.reduce(0) { $0 + $1.count } }
}

/// StepRanges is a set of step numbers kept as sorted, disjoint, non-adjacent ranges.
struct StepRanges {
    private(set) var ranges: [Range<Int>] = []

    func contains(_ k: Int) -> Bool {
        // The last range starting at or before k is the only one that can hold it.
        var lo = 0
        var hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].lowerBound <= k { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && ranges[lo - 1].contains(k)
    }

    /// The set with `k` added; a step after the last range extends it in place.
    func inserting(_ k: Int) -> StepRanges {
        if let last = ranges.last, last.upperBound == k {
            var copy = self
            copy.ranges[copy.ranges.count - 1] = last.lowerBound..<k + 1
            return copy
        }
        return union(StepRanges(ranges: [k..<k + 1]))
    }

    func union(_ other: StepRanges) -> StepRanges {
        var merged: [Range<Int>] = []
        merged.reserveCapacity(ranges.count + other.ranges.count)
        var i = 0
        var j = 0
        while i < ranges.count || j < other.ranges.count {
            let next: Range<Int>
            if j == other.ranges.count || (i < ranges.count && ranges[i].lowerBound <= other.ranges[j].lowerBound) {
                next = ranges[i]
                i += 1
            } else {
                next = other.ranges[j]
                j += 1
            }
            if let last = merged.last, next.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, next.upperBound)
            } else {
                merged.append(next)
            }
        }
        return StepRanges(ranges: merged)
    }

    var storedFacts: Int { ranges.count * 2 }
}
