import Foundation

/// Expert placement with replicas of hot experts, after DeepSeek's EPLB
/// (github.com/deepseek-ai/EPLB, `eplb.py`): the hierarchical policy packs expert
/// groups onto nodes, replicates the heaviest experts inside each node, and packs
/// the physical experts onto GPUs, each step balancing load greedily; when the
/// groups do not divide over the nodes it uses one group and one node (the global
/// policy). Ties go to the lowest index, as PyTorch's `max`/`min` give them.
package enum ExpertBalancer {
  /// The placement of one layer set.
  package struct Placement: Hashable, Sendable {
    /// Per layer, per physical slot (GPU-major): the logical expert it holds.
    package var physicalToLogical: [[Int]]
    /// Per layer, per logical expert: how many replicas it has.
    package var replicaCount: [[Int]]
    /// Per layer, per GPU: the load it carries (each replica takes an equal share).
    package var gpuLoad: [[Double]]
  }

  /// Balances `load[layer][expert]` over `replicas` physical slots on `gpus` GPUs
  /// in `nodes` nodes, with experts in `groups` groups.
  ///
  /// - Precondition: experts divide into groups; slots divide over GPUs; GPUs over nodes.
  /// - Complexity: O(layers · slots · (experts + GPUs)).
  package static func rebalance(load: [[Double]], replicas: Int, groups: Int, nodes: Int, gpus: Int) -> Placement? {
    guard let experts = load.first?.count, experts > 0, replicas >= experts, gpus > 0, nodes > 0, groups > 0,
      replicas % gpus == 0, gpus % nodes == 0, experts % groups == 0, load.allSatisfy({ $0.count == experts })
    else { return nil }
    if groups % nodes == 0 {
      return hierarchical(load: load, replicas: replicas, groups: groups, nodes: nodes, gpus: gpus)
    }
    return hierarchical(load: load, replicas: replicas, groups: 1, nodes: 1, gpus: gpus)
  }

  /// Greedy packing of items into `packs` packs of equal item count, heaviest item
  /// first into the lightest pack that has room.
  static func balancedPacking(_ weight: [Double], packs: Int) -> (pack: [Int], rank: [Int]) {
    let perPack = weight.count / packs
    if perPack == 1 { return (Array(0..<weight.count), Array(repeating: 0, count: weight.count)) }
    let order = weight.indices.sorted { weight[$0] != weight[$1] ? weight[$0] > weight[$1] : $0 < $1 }
    var pack = [Int](repeating: -1, count: weight.count)
    var rank = [Int](repeating: -1, count: weight.count)
    var packWeight = [Double](repeating: 0, count: packs)
    var packItems = [Int](repeating: 0, count: packs)
    for item in order {
      var chosen = -1
      for candidate in 0..<packs where packItems[candidate] < perPack {
        if chosen < 0 || packWeight[candidate] < packWeight[chosen] { chosen = candidate }
      }
      pack[item] = chosen
      rank[item] = packItems[chosen]
      packWeight[chosen] += weight[item]
      packItems[chosen] += 1
    }
    return (pack, rank)
  }

  /// Adds replicas one at a time to the expert with the highest load per replica.
  static func replicate(_ weight: [Double], slots: Int) -> (physicalToLogical: [Int], rank: [Int], count: [Int]) {
    var physical = Array(0..<weight.count)
    var rank = [Int](repeating: 0, count: weight.count)
    var count = [Int](repeating: 1, count: weight.count)
    for _ in weight.count..<slots {
      var best = 0
      for expert in 1..<weight.count where weight[expert] / Double(count[expert]) > weight[best] / Double(count[best]) {
        best = expert
      }
      physical.append(best)
      rank.append(count[best])
      count[best] += 1
    }
    return (physical, rank, count)
  }

  static func inverse(_ permutation: [Int]) -> [Int] {
    var result = [Int](repeating: 0, count: permutation.count)
    for (index, value) in permutation.enumerated() { result[value] = index }
    return result
  }

  static func hierarchical(load: [[Double]], replicas: Int, groups: Int, nodes: Int, gpus: Int) -> Placement {
    let experts = load[0].count
    let groupSize = experts / groups
    let groupsPerNode = groups / nodes
    let slotsPerGPU = replicas / gpus
    let expertsPerNode = experts / nodes
    let slotsPerNode = replicas / nodes
    var physicalToLogical: [[Int]] = []
    var replicaCount: [[Int]] = []
    var gpuLoad: [[Double]] = []
    for weight in load {
      // Step 1: groups to nodes.
      let groupLoad = (0..<groups).map { group in weight[(group * groupSize)..<((group + 1) * groupSize)].reduce(0, +) }
      let (groupPack, groupRank) = balancedPacking(groupLoad, packs: nodes)
      // log2mlog: logical expert → "middle" index (node-major).
      var log2mlog = [Int](repeating: 0, count: experts)
      for expert in 0..<experts {
        let group = expert / groupSize
        log2mlog[expert] = (groupPack[group] * groupsPerNode + groupRank[group]) * groupSize + expert % groupSize
      }
      let mlog2log = inverse(log2mlog)
      // Step 2: replicas inside each node.
      var phy2mlog: [Int] = []
      var phyRank: [Int] = []
      var mlogCount: [Int] = []
      for node in 0..<nodes {
        let nodeWeights = (0..<expertsPerNode).map { weight[mlog2log[node * expertsPerNode + $0]] }
        let (physical, rank, count) = replicate(nodeWeights, slots: slotsPerNode)
        phy2mlog.append(contentsOf: physical.map { node * expertsPerNode + $0 })
        phyRank.append(contentsOf: rank)
        mlogCount.append(contentsOf: count)
      }
      // Step 3: physical experts to GPUs, inside each node.
      var pphy2log = [Int](repeating: 0, count: replicas)
      var loads = [Double](repeating: 0, count: gpus)
      let gpusPerNode = gpus / nodes
      for node in 0..<nodes {
        let slots = (0..<slotsPerNode).map { node * slotsPerNode + $0 }
        let slotWeights = slots.map { slot -> Double in
          let middle = phy2mlog[slot]
          return weight[mlog2log[middle]] / Double(mlogCount[middle])
        }
        let (pack, rank) = balancedPacking(slotWeights, packs: gpusPerNode)
        for (local, slot) in slots.enumerated() {
          let position = node * slotsPerNode + pack[local] * slotsPerGPU + rank[local]
          pphy2log[position] = mlog2log[phy2mlog[slot]]
          loads[node * gpusPerNode + pack[local]] += slotWeights[local]
        }
      }
      physicalToLogical.append(pphy2log)
      replicaCount.append((0..<experts).map { mlogCount[log2mlog[$0]] })
      gpuLoad.append(loads)
    }
    return Placement(physicalToLogical: physicalToLogical, replicaCount: replicaCount, gpuLoad: gpuLoad)
  }
}

extension ExpertBalancer {
  /// Reads measured expert load (EPLB's input) from JSON text: `[[tokens per
  /// expert] per MoE layer]`, or an object with that array under `load` or
  /// `weight` (EPLB's name).
  /// - Throws: ``InputError`` naming `source` and the layer that is not a list of
  ///   non-negative token counts.
  package static func readLoad(_ text: String, source: String) throws -> [[Double]] {
    guard text.utf8.count <= ByteSource.jsonLimit else {
      throw InputError(
        .malformed,
        source: source,
        message: "an expert-load file of \(text.utf8.count) bytes",
        expected: "at most \(ByteSource.jsonLimit >> 20) MiB (4096 layers of 4096 token counts fit in far less)"
      )
    }
    let json = try JSONValue.parse(Data(text.utf8), source: source)
    let rows = json.arrayValue ?? json["load"]?.arrayValue ?? json["weight"]?.arrayValue
    guard let rows, !rows.isEmpty else {
      throw InputError(
        .malformed,
        source: source,
        message: "no expert load",
        expected: "[[tokens per expert] per MoE layer]"
      )
    }
    let experts = FieldBounds.Kind.experts.range.upperBound
    guard rows.count <= FieldBounds.Kind.layers.range.upperBound else {
      throw InputError(
        .malformed,
        source: source,
        message: "expert load for \(rows.count) layers",
        expected: "one row per MoE layer, at most \(FieldBounds.Kind.layers.range.upperBound)"
      )
    }
    return try rows.enumerated().map { index, row in
      // Token counts up to 10^15: a count that large is still exact in a Double
      // and converts to Int64 without a trap (1e308 trapped).
      guard let values = row.arrayValue?.compactMap(\.doubleValue), values.count == row.arrayValue?.count,
        values.count <= experts, values.allSatisfy({ $0 >= 0 && $0 <= 1e15 })
      else {
        throw InputError(
          .malformed,
          source: source,
          field: "layer \(index)",
          message: "not a list of token counts from 0 to 10^15, one per expert (at most \(experts))"
        )
      }
      return values
    }
  }
}
