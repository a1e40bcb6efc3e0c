extension Planner {
  /// Packs several models (roles) onto the topology's cards: pinned roles first,
  /// then the largest; each takes the layout with the fewest GPUs that fits in
  /// the memory the roles before it left (two models may share a card), ties
  /// broken by throughput. Every GPU's budget adds up all roles on it.
  ///
  /// - Complexity: O(R · C) candidate evaluations for R roles and C candidates per role.
  public func planRoles(_ requests: [InferenceRequest]) -> Plan {
    guard requests.count > 1 else { return requests.first.map(plan) ?? plan(roles: []) }
    return plan(roles: requests)
  }

  private func plan(roles original: [InferenceRequest]) -> Plan {
    let requests = original.map { request -> InferenceRequest in
      var copy = request
      if copy.cachedSummary == nil { copy.cachedSummary = ModelSummary(request.model) }
      return copy
    }
    let order = requests.enumerated().sorted { a, b in
      let pinnedA = a.element.pinnedGPUs != nil
      let pinnedB = b.element.pinnedGPUs != nil
      if pinnedA != pinnedB { return pinnedA }
      if a.element.summary.weightBytes != b.element.summary.weightBytes {
        return a.element.summary.weightBytes > b.element.summary.weightBytes
      }
      return a.offset < b.offset
    }
    var planner = self
    planner.objective = .fewestGPUs
    var workloads: [(Int, WorkloadPlan)] = []
    var budgets: [Int: DeviceBudget] = [:]
    var reasons: [String] = []
    var fixes: [String] = []
    var verdict = Verdict.fits
    var cpuBytes: Int64 = 0
    for (position, request) in order {
      var candidates = planner.candidates(request)
      candidates.sort { planner.better($0, $1) }
      guard let best = candidates.first else {
        verdict = .doesNotFit
        reasons.append("\(request.role): no layout is possible on the GPUs it may use")
        continue
      }
      verdict = max(verdict, best.verdict)
      let headroom = best.devices.map(\.freeBytes).min() ?? 0
      switch best.verdict {
      case .doesNotFit:
        reasons.append(
          "\(request.role) (\(request.model.name)): does not fit in what is left — \(best.shortfall ?? "short of memory")"
        )
        fixes.append(contentsOf: planner.fixes(request).map { "\(request.role): \($0)" })
      default:
        reasons.append(
          "\(request.role) (\(request.model.name)): \(describe(best.workload)), headroom \(Units.formatBytes(headroom))"
        )
      }
      workloads.append((position, best.planned))
      cpuBytes += best.cpuBytes
      planner.record(best, into: &budgets)
    }
    let devices = Array(budgets.values).includingIdleGPUs(of: graph)
    return Plan(
      topology: graph.name,
      objective: .fewestGPUs,
      verdict: verdict,
      reasons: reasons,
      fixes: fixes,
      workloads: workloads.sorted { $0.0 < $1.0 }.map(\.1),
      devices: devices,
      cpuBytes: cpuBytes,
      alternatives: [],
      assumptions: requests.first.map(assumptions) ?? []
    )
  }
}

extension Planner {
  /// Adds a placed workload to the running per-GPU budgets of several workloads:
  /// its bytes become occupied for the workloads placed after it, and each GPU's
  /// budget adds up every workload on it. A GPU's first budget is stated against
  /// the whole card (memory only other processes hold, before any workload).
  mutating func record(_ candidate: Candidate, into budgets: inout [Int: DeviceBudget]) {
    for device in candidate.devices {
      let before = occupied[device.index] ?? 0
      occupied[device.index, default: 0] += device.usedBytes
      if var existing = budgets[device.index] {
        existing.absorb(device)
        budgets[device.index] = existing
      } else {
        var fresh = device
        fresh.otherBytes = graph.gpus[device.index].memoryUsedBytes ?? 0
        fresh.usableBytes = device.usableBytes + before
        budgets[device.index] = fresh
      }
    }
  }
}
