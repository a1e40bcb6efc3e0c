extension Planner {
  /// Packs several models (roles) onto the topology's cards: pinned roles first,
  /// then the largest; each takes the layout with the fewest GPUs that fits in
  /// the memory the roles before it left (two models may share a card), ties
  /// broken by throughput. Every GPU's budget adds up all roles on it.
  ///
  /// - Complexity: O(R · C) candidate evaluations for R roles and C candidates per role.
  public func planRoles(_ requests: [InferenceRequest]) -> Plan {
    guard requests.count > 1 else {
      return requests.first.map(plan)
        ?? Plan.empty(topology: graph.name, objective: .fewestGPUs, reason: "no role to place")
    }
    let adapted = requests.map(adapted)
    let servings = adapted.map { Serving($0.0) }
    let order = servings.enumerated().sorted { a, b in
      let pinnedA = a.element.request.pinnedGPUs != nil
      let pinnedB = b.element.request.pinnedGPUs != nil
      if pinnedA != pinnedB { return pinnedA }
      if a.element.summary.weightBytes != b.element.summary.weightBytes {
        return a.element.summary.weightBytes > b.element.summary.weightBytes
      }
      return a.offset < b.offset
    }
    var planner = self
    planner.objective = .fewestGPUs
    var workloads: [(Int, WorkloadPlan)] = []
    var ledger = Ledger()
    var reasons: [String] = []
    var fixes: [Fix] = []
    var verdict = Verdict.fits
    var cpuBytes: Int64 = 0
    var cpuVerdict: Verdict?
    var offloading: [PricedLayout] = []
    var placedReasons: [Int: [Int]] = [:]
    for (position, serving) in order {
      let request = serving.request
      if let refusal = Self.unknownKVCache(request.model) ?? request.contextRefusal ?? kernelRefusal(request) {
        verdict = .doesNotFit
        reasons.append("\(request.role): \(refusal)")
        continue
      }
      var candidates = planner.candidates(serving, occupied: ledger.occupied)
      candidates.sort { planner.better($0, $1) }
      guard let best = candidates.first else {
        verdict = .doesNotFit
        reasons.append("\(request.role): no layout is possible on the GPUs it may use")
        continue
      }
      verdict = max(verdict, best.verdict)
      switch best.verdict {
      case .doesNotFit:
        reasons.append(
          "\(request.role) (\(request.model.name)): does not fit in what is left — \(best.shortfall?.description ?? "short of memory")"
        )
        fixes.append(
          contentsOf: planner.fixes(serving, occupied: ledger.occupied).map { fix in
            var forRole = fix
            forRole.role = request.role
            return forRole
          }
        )
      default:
        // Its headroom is said once every role is placed: what its GPUs keep free then.
        reasons.append("\(request.role) (\(request.model.name)): \(describe(best.workload))")
        placedReasons[reasons.count - 1] = best.workload.gpuShares.map(\.gpu)
      }
      workloads.append((position, best.workload))
      cpuBytes += best.cpuBytes
      if let ram = best.cpuVerdict {
        cpuVerdict = max(cpuVerdict ?? ram, ram)
        offloading.append(best)
      }
      ledger.record(best, graph: graph)
    }
    let devices = ledger.devices(of: graph)
    // Each engine process on a card keeps what lies outside its budget beside the
    // budgets of all of them (vLLM's CUDA context and graphs): a card shared by
    // several must leave room for every one.
    for device in devices {
      let outside = workloads.filter { $0.1.gpuShares.contains { $0.gpu == device.index } }.compactMap { _, workload in
        let profile = EngineProfile.profile(workload.engine)
        return profile.runtimeOutsideBudget ? profile.outsideBudgetBytes : nil
      }
      let need = outside.reduce(0, +)
      let room = device.capacityBytes - device.otherBytes - device.usableBytes
      guard outside.count > 1, need > room else { continue }
      verdict = .doesNotFit
      reasons.append(
        "GPU \(device.index) runs \(outside.count) engine processes whose CUDA contexts and graphs (\(Units.formatBytes(need))) lie outside their budgets, but their budgets leave \(Units.formatBytes(max(room, 0))) of the card: lower --memory-fraction or pin the roles to other GPUs"
      )
    }
    for (index, gpus) in placedReasons {
      let free = devices.filter { gpus.contains($0.index) }.map(\.freeBytes).min() ?? 0
      let shared = gpus.contains { gpu in workloads.filter { $0.1.gpuShares.contains { $0.gpu == gpu } }.count > 1 }
      reasons[index] +=
        ", its tightest GPU keeps \(Units.formatBytes(free)) free\(shared ? " after every role sharing it" : "")"
    }
    return Plan(
      topology: graph.name,
      objective: .fewestGPUs,
      verdict: verdict,
      reasons: reasons,
      fixes: fixes,
      workloads: workloads.sorted { $0.0 < $1.0 }.map(\.1),
      devices: devices,
      cpuBytes: cpuBytes,
      cpuRAMBytes: hostRAM(of: offloading),
      cpuVerdict: cpuVerdict,
      alternatives: [],
      assumptions: adapted.flatMap(\.1).uniqued() + assumptions(requests[0])
    )
  }
}

extension Array where Element: Hashable {
  /// The elements in order, each once.
  func uniqued() -> [Element] {
    var seen = Set<Element>()
    return filter { seen.insert($0).inserted }
  }
}
