import Foundation

/// `--format html`: one self-contained page (inline CSS and SVG, no scripts, no
/// network) for a plan, a validated layout or a topology. Its parts: the topology
/// graph, per-GPU memory bars against capacity and the engine's budget, the
/// layout, the predicted speed, the alternatives, the fixes, the assumptions and
/// the launch files. Elements carry classes (`gpu-node`, `link`, `memory-bar`,
/// `segment`) that the report check counts.
package enum HTMLReport {
  /// Colours of link kinds in the topology graph.
  static func color(_ kind: LinkKind) -> String {
    switch kind {
    case .nvlink, .nvswitch: "#2e7d32"
    case .pix, .pxb: "#1565c0"
    case .phb, .node: "#6a1b9a"
    case .sys: "#c62828"
    case .network: "#616161"
    }
  }

  /// Fills of GPUs by the pipeline stage they hold (stage 0 first).
  static let stageFills = ["#dbe9f6", "#fde3c8", "#d9efd5", "#eadcf0", "#fbf1c7", "#d5eeec", "#f6d8d8", "#e7e2dc"]

  /// The stage of each GPU that holds one, over all workloads (a GPU of the
  /// second workload's stage 0 shows as stage 0 too).
  static func stages(_ plan: Plan) -> [Int: Int] {
    var stageOf: [Int: Int] = [:]
    for workload in plan.workloads {
      for (index, stage) in workload.stages.enumerated() {
        for gpu in stage.devices where stageOf[gpu] == nil { stageOf[gpu] = index }
      }
      for gpu in workload.replicaDevices.flatMap({ $0 }) where stageOf[gpu] == nil { stageOf[gpu] = 0 }
    }
    return stageOf
  }

  // MARK: Pages

  /// The page of a plan on `graph`, with its launch files.
  package static func plan(_ plan: Plan, graph: DeviceGraph, files: [EmittedFile], version: String) -> String {
    var body = header(
      title: "Plan on \(plan.topology)",
      subtitle: "objective: \(plan.objective.rawValue)",
      verdict: plan.verdict,
      reasons: plan.reasons
    )
    body += section("Topology", topologySVG(graph, stageOf: stages(plan)) + linkMatrix(graph))
    body += planSections(plan)
    if !files.isEmpty { body += section("Launch files", launchFiles(files)) }
    return page(title: "shardplan: plan on \(plan.topology)", body: body, version: version)
  }

  /// The page of a validated layout: its findings, then the plan it makes.
  package static func validation(_ report: LayoutValidator.Report, version: String) -> String {
    let title = "Layout check"
    var body = header(
      title: title,
      subtitle: report.plan.map { "on \($0.topology)" } ?? "",
      verdict: report.verdict,
      reasons: report.plan?.reasons ?? []
    )
    let findings = report.findings.map { finding in
      "<li class=\"finding finding-\(escape(finding.code.description))\"><code>\(escape(finding.source))\(finding.line.map { ":\($0)" } ?? "")</code> \(escape(finding.message))</li>"
    }
    body += section(
      "Findings",
      findings.isEmpty ? "<p>No problems found.</p>" : "<ul class=\"findings\">\(findings.joined())</ul>"
    )
    if let graph = report.graph {
      body += section("Topology", topologySVG(graph, stageOf: report.plan.map(stages) ?? [:]) + linkMatrix(graph))
    }
    if let plan = report.plan { body += planSections(plan) }
    return page(title: "shardplan: \(title)", body: body, version: version)
  }

  /// The sections a plan and a validated layout share: memory, layout, speed,
  /// fixes, alternatives and assumptions.
  static func planSections(_ plan: Plan) -> String {
    var body = section("GPU memory", memoryBars(plan) + table(plan.budgetRows()))
    body += section("Layout", layout(plan))
    body += section("Predicted speed", speedTable(plan))
    if !plan.fixes.isEmpty {
      body += section("Fixes", "<p>Any one of these makes it fit:</p>" + list(plan.fixes.map(\.description)))
    }
    if !plan.alternatives.isEmpty { body += section("Alternatives", alternatives(plan)) }
    body += section("Assumptions", list(plan.assumptions))
    return body
  }

  /// The page of a machine: its graph, GPUs, links, notes and conflicts.
  package static func topology(_ graph: DeviceGraph, version: String) -> String {
    var body = header(title: "Topology \(graph.name)", subtitle: graph.sources.joined(separator: ", "), verdict: nil)
    body += section("Graph", topologySVG(graph) + linkMatrix(graph))
    var rows = [["GPU", "Host", "Name", "Memory", "Bandwidth", "BF16 TFLOP/s"]]
    for gpu in graph.gpus {
      rows.append([
        "\(gpu.index)", graph.hosts.indices.contains(gpu.host) ? graph.hosts[gpu.host].name : "\(gpu.host)", gpu.name,
        gpu.memoryBytes.map(Units.formatBytes) ?? "-",
        gpu.memoryBandwidthBytesPerSecond.map(Units.formatRate) ?? "-",
        gpu.bf16TFLOPS.map { Units.formatDecimal($0, places: 0) } ?? "-",
      ])
    }
    body += section("GPUs", table(rows))
    if !graph.notes.isEmpty { body += section("Notes", list(graph.notes)) }
    if !graph.conflicts.isEmpty {
      body += section(
        "Conflicts",
        list(graph.conflicts.map { "\($0.subject): kept \($0.kept), ignored \($0.ignored)" })
      )
    }
    return page(title: "shardplan: topology \(graph.name)", body: body, version: version)
  }

  // MARK: The topology graph

  /// GPUs as circles on a ring per host (at most 16 hosts drawn), every pair of a
  /// host's GPUs as a line coloured by its kind and as wide as its bandwidth
  /// (labelled when a host has at most 3 GPUs), the network as one fabric line
  /// that every host drops onto (labelled with the slowest link between hosts),
  /// and GPUs filled by the pipeline stage they hold.
  static func topologySVG(_ graph: DeviceGraph, stageOf: [Int: Int] = [:]) -> String {
    let drawnHosts = Array(graph.hosts.prefix(16))
    let columns = min(max(drawnHosts.count, 1), 4)
    let cell = 300.0
    let rows = (drawnHosts.count + columns - 1) / max(columns, 1)
    let width = max(Double(columns) * cell, 960)
    let height = Double(max(rows, 1)) * cell + (graph.hosts.count > 1 ? 80 : 56)
    let fastest = Double(graph.links.map(\.bandwidthBytesPerSecond).max() ?? 1)
    var position: [Int: (x: Double, y: Double)] = [:]
    var hostCenters: [Int: (x: Double, y: Double)] = [:]
    var svg =
      "<svg class=\"topology\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" width=\"\(fmt(width))\" role=\"img\" aria-label=\"GPUs and links\">"
    for (slot, host) in drawnHosts.enumerated() {
      let cx = (Double(slot % columns) + 0.5) * cell
      let cy = (Double(slot / columns) + 0.5) * cell + 12
      let ringY = cy + 18
      hostCenters[host.index] = (cx, cy)
      let gpus = graph.gpus.filter { $0.host == host.index }
      let radius = gpus.count <= 1 ? 0 : min(88, 30 + 10 * Double(gpus.count))
      for (offset, gpu) in gpus.enumerated() {
        let angle = -Double.pi / 2 + 2 * Double.pi * Double(offset) / Double(max(gpus.count, 1))
        position[gpu.index] = (cx + radius * cos(angle), ringY + radius * sin(angle))
      }
      let models = Dictionary(grouping: gpus, by: { shortName($0.name) }).sorted { $0.key < $1.key }
        .map { "\($0.value.count) × \($0.key)" }.joined(separator: ", ")
      svg +=
        "<g class=\"host\"><rect x=\"\(fmt(cx - cell / 2 + 8))\" y=\"\(fmt(cy - cell / 2 + 8))\" width=\"\(fmt(cell - 16))\" height=\"\(fmt(cell - 16))\" rx=\"14\"/><text x=\"\(fmt(cx - cell / 2 + 20))\" y=\"\(fmt(cy - cell / 2 + 30))\" class=\"host-name\">\(escape(host.name))</text><text x=\"\(fmt(cx - cell / 2 + 20))\" y=\"\(fmt(cy - cell / 2 + 46))\" class=\"note\">\(escape(models))</text></g>"
    }
    // Links inside each drawn host, labelled where the host has at most 3 GPUs;
    // between hosts, only the slowest link (drawn as the fabric below).
    let gpusPerHost = Dictionary(grouping: graph.gpus, by: \.host).mapValues(\.count)
    var slowestBetweenHosts: Link?
    var lines = ""
    var labels = ""
    for link in graph.links {
      let a = graph.gpus[link.from]
      let b = graph.gpus[link.to]
      if a.host != b.host {
        if slowestBetweenHosts.map({ link.bandwidthBytesPerSecond < $0.bandwidthBytesPerSecond }) ?? true {
          slowestBetweenHosts = link
        }
        continue
      }
      guard let p = position[link.from], let q = position[link.to] else { continue }
      let stroke = 1 + 5 * Double(link.bandwidthBytesPerSecond) / fastest
      lines +=
        "<line class=\"link link-\(link.kind.rawValue)\" x1=\"\(fmt(p.x))\" y1=\"\(fmt(p.y))\" x2=\"\(fmt(q.x))\" y2=\"\(fmt(q.y))\" stroke=\"\(color(link.kind))\" stroke-width=\"\(fmt(stroke))\"><title>GPU \(link.from)–\(link.to): \(link.kind.rawValue.uppercased()), \(Units.formatRate(link.bandwidthBytesPerSecond)) per direction</title></line>"
      if gpusPerHost[a.host, default: 0] <= 3 {
        // Beside the line's middle, on its right-hand side.
        let length = max(((q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y)).squareRoot(), 1)
        let (nx, ny) = (-(q.y - p.y) / length, (q.x - p.x) / length)
        labels +=
          "<text class=\"link-label\" x=\"\(fmt((p.x + q.x) / 2 + nx * 34))\" y=\"\(fmt((p.y + q.y) / 2 + ny * 14 + 4))\">\(escape(Units.formatRate(link.bandwidthBytesPerSecond)))</text>"
      }
    }
    // Hosts reach each other through the network: one fabric line under the
    // hosts, each host dropping onto it, labelled with the slowest pair's rate.
    if let slowest = slowestBetweenHosts {
      let fabricY = Double(max(rows, 1)) * cell + 22
      let xs = drawnHosts.compactMap { hostCenters[$0.index]?.x }
      lines +=
        "<line class=\"fabric\" x1=\"\(fmt(xs.min() ?? 0))\" y1=\"\(fmt(fabricY))\" x2=\"\(fmt(xs.max() ?? 0))\" y2=\"\(fmt(fabricY))\" stroke=\"\(color(.network))\" stroke-width=\"3\" stroke-dasharray=\"6 4\"/>"
      for host in drawnHosts {
        guard let c = hostCenters[host.index] else { continue }
        lines +=
          "<line class=\"link link-network link-between-hosts\" x1=\"\(fmt(c.x))\" y1=\"\(fmt(c.y + cell / 2 - 8))\" x2=\"\(fmt(c.x))\" y2=\"\(fmt(fabricY))\" stroke=\"\(color(.network))\" stroke-width=\"3\" stroke-dasharray=\"6 4\"><title>\(escape(host.name)) to the network: \(Units.formatRate(slowest.bandwidthBytesPerSecond)) per GPU pair between hosts</title></line>"
      }
    }
    svg += lines + labels
    for gpu in graph.gpus {
      guard let p = position[gpu.index] else { continue }
      svg +=
        "<g class=\"gpu-node\" data-gpu=\"\(gpu.index)\"><circle cx=\"\(fmt(p.x))\" cy=\"\(fmt(p.y))\" r=\"19\" fill=\"\(stageOf[gpu.index].map { stageFills[$0 % stageFills.count] } ?? "#ffffff")\"/><text x=\"\(fmt(p.x))\" y=\"\(fmt(p.y + 5))\" class=\"gpu-index\">\(gpu.index)</text><title>GPU \(gpu.index): \(escape(gpu.name))\(gpu.memoryBytes.map { ", \(Units.formatBytes($0))" } ?? "")\(stageOf[gpu.index].map { ", stage \($0)" } ?? "")</title></g>"
    }
    if graph.hosts.count > drawnHosts.count {
      svg +=
        "<text x=\"12\" y=\"\(fmt(height - 14))\" class=\"note\">… and \(graph.hosts.count - drawnHosts.count) more hosts, not drawn</text>"
    }
    // The legend: the kinds that occur.
    let kinds = Set(graph.links.map(\.kind)).sorted()
    var x = 12.0
    for kind in kinds {
      let rates = graph.links.filter { $0.kind == kind }.map(\.bandwidthBytesPerSecond)
      let (low, high) = (rates.min() ?? 0, rates.max() ?? 0)
      let text =
        "\(kind.rawValue.uppercased()) \(low == high ? Units.formatRate(low) : "\(Units.formatRate(low))–\(Units.formatRate(high))")"
      svg +=
        "<g class=\"legend\"><line x1=\"\(fmt(x))\" y1=\"\(fmt(height - 30))\" x2=\"\(fmt(x + 24))\" y2=\"\(fmt(height - 30))\" stroke=\"\(color(kind))\" stroke-width=\"4\"\(kind == .network ? " stroke-dasharray=\"6 4\"" : "")/><text x=\"\(fmt(x + 30))\" y=\"\(fmt(height - 26))\">\(escape(text))</text></g>"
      x += 46 + Double(text.count) * 7
    }
    let stageCount = (stageOf.values.max() ?? -1) + 1
    x += 10
    for stage in 0..<min(stageCount, stageFills.count) {
      svg +=
        "<g class=\"legend\"><circle cx=\"\(fmt(x + 7))\" cy=\"\(fmt(height - 30))\" r=\"7\" fill=\"\(stageFills[stage])\" stroke=\"#1f2328\"/><text x=\"\(fmt(x + 18))\" y=\"\(fmt(height - 26))\">stage \(stage)</text></g>"
      x += 70
    }
    return svg + "</svg>"
  }

  /// Bandwidth of every pair, per direction, as a table (at most 16 GPUs).
  static func linkMatrix(_ graph: DeviceGraph) -> String {
    guard graph.gpus.count > 1, graph.gpus.count <= 16 else { return "" }
    var html = "<table class=\"matrix\"><thead><tr><th></th>"
    html += graph.gpus.map { "<th>\($0.index)</th>" }.joined() + "</tr></thead><tbody>"
    for a in graph.gpus {
      html += "<tr><th>\(a.index)</th>"
      for b in graph.gpus {
        guard a.index != b.index, let link = graph.link(a.index, b.index) else {
          html += "<td>—</td>"
          continue
        }
        let rate = Double(link.bandwidthBytesPerSecond) / 1e9
        html +=
          "<td class=\"kind-\(link.kind.rawValue)\" title=\"GPU \(a.index)–\(b.index): \(link.kind.rawValue.uppercased())\">\(graph.gpus.count > 8 ? "" : abbreviation(link.kind) + " ")\(Units.formatDecimal(rate, places: rate < 100 ? 1 : 0))</td>"
      }
      html += "</tr>"
    }
    return
      "<p class=\"caption\">GB/s per direction between each pair of GPUs, and the link kind (NV NVLink, NVS NVSwitch, PIX/PXB/PHB/NODE/SYS PCIe paths as nvidia-smi topo -m names them, NET the network; cells are coloured as the graph's lines):</p><div class=\"scroll\">"
      + html + "</tbody></table></div>"
  }

  /// Short names of link kinds for the matrix (NV, NVS, PIX … NET).
  static func abbreviation(_ kind: LinkKind) -> String {
    switch kind {
    case .nvlink: "NV"
    case .nvswitch: "NVS"
    case .network: "NET"
    default: kind.rawValue.uppercased()
    }
  }

  // MARK: Memory

  /// The bytes of each stacked part of a device's bar, in ``MemoryPart/stack`` order.
  static func parts(_ device: DeviceBudget) -> [Int64] { MemoryPart.stack.map { $0.bytes(device) } }

  /// One horizontal bar per GPU over its capacity: the stacked parts, the free
  /// memory within the engine's budget, the part of the card outside it, and a
  /// mark where the budget ends.
  static func memoryBars(_ plan: Plan) -> String {
    let barWidth = 600.0
    let rowHeight = 34.0
    let left = 240.0
    let height = Double(plan.devices.count) * rowHeight + 40
    var svg =
      "<svg class=\"memory\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(left + barWidth + 230)) \(fmt(height))\" width=\"\(fmt(left + barWidth + 230))\" height=\"\(fmt(height))\" role=\"img\" aria-label=\"memory per GPU\">"
    for (row, device) in plan.devices.enumerated() {
      let y = Double(row) * rowHeight + 6
      let used = parts(device).reduce(0, +)
      let scaleBytes = Double(max(device.capacityBytes, used, 1))
      let scale = barWidth / scaleBytes
      svg +=
        "<g class=\"memory-bar verdict-\(device.verdict.rawValue)\" data-gpu=\"\(device.index)\"><text x=\"0\" y=\"\(fmt(y + 17))\" class=\"bar-label\">GPU \(device.index) · \(escape(shortName(device.name)))</text>"
      svg +=
        "<rect class=\"capacity\" x=\"\(fmt(left))\" y=\"\(fmt(y))\" width=\"\(fmt(Double(device.capacityBytes) * scale))\" height=\"24\"/>"
      let budgetEnd = Double(device.otherBytes + device.usableBytes) * scale
      svg +=
        "<rect class=\"budget\" x=\"\(fmt(left))\" y=\"\(fmt(y))\" width=\"\(fmt(min(budgetEnd, barWidth)))\" height=\"24\"/>"
      var x = left
      for (segment, bytes) in zip(MemoryPart.stack, parts(device)) where bytes > 0 {
        let w = Double(bytes) * scale
        svg +=
          "<rect class=\"segment segment-\(segment.key)\" x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"24\" fill=\"\(hex(segment.rgb))\"><title>\(segment.label): \(Units.formatBytes(bytes))</title></rect>"
        x += w
      }
      if used > device.capacityBytes {
        let end = left + Double(device.capacityBytes) * scale
        svg +=
          "<line class=\"capacity-mark\" x1=\"\(fmt(end))\" y1=\"\(fmt(y - 3))\" x2=\"\(fmt(end))\" y2=\"\(fmt(y + 27))\"><title>the card ends here: \(Units.formatBytes(device.capacityBytes))</title></line>"
      }
      svg +=
        "<line class=\"budget-mark\" x1=\"\(fmt(left + budgetEnd))\" y1=\"\(fmt(y - 3))\" x2=\"\(fmt(left + budgetEnd))\" y2=\"\(fmt(y + 27))\"><title>the engine's budget: \(Units.formatBytes(device.usableBytes))</title></line>"
      svg +=
        "<text x=\"\(fmt(left + barWidth + 10))\" y=\"\(fmt(y + 17))\" class=\"bar-value\">\(Units.formatBytes(device.usedBytes)) of \(Units.formatBytes(device.usableBytes))\(device.verdict == .fits ? "" : " · \(device.verdict == .tight ? "tight" : "over")")</text></g>"
    }
    // The legend: the parts that occur.
    let present = MemoryPart.stack.indices.filter { index in plan.devices.contains { parts($0)[index] > 0 } }
    var x = 0.0
    for index in present {
      let segment = MemoryPart.stack[index]
      svg +=
        "<g class=\"legend\"><rect x=\"\(fmt(x))\" y=\"\(fmt(height - 22))\" width=\"14\" height=\"14\" fill=\"\(hex(segment.rgb))\"/><text x=\"\(fmt(x + 20))\" y=\"\(fmt(height - 10))\">\(segment.label)</text></g>"
      x += 30 + Double(segment.label.count) * 7.5
    }
    svg +=
      "<g class=\"legend\"><rect class=\"budget\" x=\"\(fmt(x))\" y=\"\(fmt(height - 22))\" width=\"14\" height=\"14\"/><text x=\"\(fmt(x + 20))\" y=\"\(fmt(height - 10))\">free in the budget</text></g>"
    x += 160
    svg +=
      "<g class=\"legend\"><rect class=\"capacity\" x=\"\(fmt(x))\" y=\"\(fmt(height - 22))\" width=\"14\" height=\"14\"/><text x=\"\(fmt(x + 20))\" y=\"\(fmt(height - 10))\">outside the budget</text></g>"
    return svg + "</svg>"
  }

  // MARK: Layout, speed, alternatives, files

  static func layout(_ plan: Plan) -> String {
    plan.workloads.map { workload in
      let summary = plan.workloadSummary(workload)
      var html = "<h3>\(escape(summary.title))</h3>" + list(summary.layout)
      if workload.training == nil, !workload.stages.isEmpty {
        var rows = [["Stage", "GPUs (tensor-parallel group)", "Layers"]]
        for (index, stage) in workload.stages.enumerated() {
          rows.append([
            "\(index)", stage.devices.map(String.init).joined(separator: ", "),
            "\(stage.firstLayer)–\(stage.lastLayer)",
          ])
        }
        html += table(rows)
      }
      return html
    }.joined()
  }

  static func speedTable(_ plan: Plan) -> String {
    var rows = [
      ["Workload", "Prefill tokens/s", "TTFT", "Decode tokens/s per sequence", "Aggregate tokens/s", "Bound by"]
    ]
    var notes: [String] = []
    for workload in plan.workloads {
      if workload.training != nil {
        notes.append("\(workload.role): \(plan.workloadSummary(workload).prediction)")
        continue
      }
      let p = workload.prediction
      rows.append([
        workload.role, Units.formatDecimal(p.prefillTokensPerSecond, places: 0),
        "\(Units.formatDecimal(p.timeToFirstTokenSeconds, places: 2)) s",
        Units.formatDecimal(p.decodeTokensPerSecond, places: 1),
        Units.formatDecimal(p.aggregateDecodeTokensPerSecond, places: 0), p.decodeBound,
      ])
    }
    return (rows.count > 1 ? table(rows) : "") + (notes.isEmpty ? "" : list(notes))
  }

  static func alternatives(_ plan: Plan) -> String {
    let trains = plan.workloads.contains { $0.training != nil }
    var rows = [["Layout", "Verdict"] + (trains ? [] : ["Aggregate tokens/s"]) + ["Why not"]]
    for alternative in plan.alternatives {
      rows.append(
        [alternative.summary, alternative.verdict.rawValue]
          + (trains ? [] : [Units.formatDecimal(alternative.aggregateDecodeTokensPerSecond, places: 0)])
          + [alternative.whyNot]
      )
    }
    return table(rows)
  }

  static func launchFiles(_ files: [EmittedFile]) -> String {
    files.enumerated().map { offset, file in
      "<details class=\"launch-file\"\(offset == 0 ? " open" : "")><summary><code>\(escape(file.name))</code>\(file.executable ? " (executable)" : "")</summary><pre>\(escape(file.contents))</pre></details>"
    }.joined()
  }

  // MARK: HTML

  static func page(title: String, body: String, version: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(escape(title))</title>
    <style>
    \(css)
    </style>
    </head>
    <body>
    \(body)<footer>Written by shardplan \(escape(version)). Sizes in GiB (2^30 bytes), rates in GB/s (10^9 bytes/s) per direction.</footer>
    </body>
    </html>

    """
  }

  static func header(title: String, subtitle: String, verdict: Verdict?, reasons: [String] = []) -> String {
    var html = "<header><h1>\(escape(title))"
    if let verdict {
      html += " <span class=\"verdict verdict-\(verdict.rawValue)\">\(verdict.rawValue)</span>"
    }
    html += "</h1>"
    if !subtitle.isEmpty { html += "<p class=\"subtitle\">\(escape(subtitle))</p>" }
    if !reasons.isEmpty { html += list(reasons) }
    return html + "</header>\n"
  }

  static func section(_ title: String, _ content: String) -> String {
    let id = title.lowercased().replacingOccurrences(of: " ", with: "-")
    return "<section id=\"\(escape(id))\"><h2>\(escape(title))</h2>\(content)</section>\n"
  }

  static func list(_ items: [String]) -> String {
    "<ul>" + items.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
  }

  static func table(_ rows: [[String]], className: String? = nil) -> String {
    guard let head = rows.first else { return "" }
    var html = "<table\(className.map { " class=\"\($0)\"" } ?? "")><thead><tr>"
    html += head.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
    for row in rows.dropFirst() { html += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }
    return html + "</tbody></table>"
  }

  /// Text made safe inside elements and attribute values.
  package static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(character)
      }
    }
    return out
  }

  /// A number for SVG coordinates: at most one decimal, no exponent.
  static func fmt(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
  }

  static func hex(_ rgb: (Int, Int, Int)) -> String { String(format: "#%02x%02x%02x", rgb.0, rgb.1, rgb.2) }

  /// A GPU name without the vendor's prefix, for bar labels.
  static func shortName(_ name: String) -> String {
    name.replacingOccurrences(of: "NVIDIA ", with: "").replacingOccurrences(of: "GeForce ", with: "")
  }

  static let css = """
    :root { color-scheme: light; }
    body { font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: #1f2328; margin: 24px auto; max-width: 1120px; padding: 0 20px; }
    h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
    h3 { font-size: 15px; margin: 14px 0 6px; }
    .subtitle { color: #57606a; margin: 0 0 8px; }
    .verdict { font-size: 14px; padding: 2px 10px; border-radius: 12px; vertical-align: middle; color: #fff; }
    .verdict-fits { background: #2e7d32; } .verdict-tight { background: #ef6c00; } .verdict-does-not-fit { background: #c62828; }
    table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
    th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
    th { background: #f6f8fa; } table.matrix td { font-size: 12px; white-space: nowrap; }
    code, pre { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
    pre { background: #f6f8fa; padding: 10px; overflow-x: auto; border-radius: 6px; }
    details { margin: 6px 0; } summary { cursor: pointer; }
    svg { max-width: 100%; height: auto; }
    svg text { font: 12px "DejaVu Sans", sans-serif; fill: #1f2328; }
    .host rect { fill: #f6f8fa; stroke: #d0d7de; } .host-name { font-weight: bold; }
    .gpu-node circle { stroke: #1f2328; stroke-width: 2; } .gpu-index { text-anchor: middle; font-weight: bold; }
    .link-label { text-anchor: middle; font-size: 11px; fill: #57606a; }
    .memory .capacity { fill: #d8dee4; } .memory .budget { fill: #f3f5f7; stroke: #d0d7de; }
    .legend .capacity { fill: #d8dee4; } .legend .budget { fill: #f3f5f7; stroke: #d0d7de; }
    .budget-mark { stroke: #1f2328; stroke-width: 2; } .capacity-mark { stroke: #c62828; stroke-width: 2; stroke-dasharray: 3 2; }
    .verdict-tight .bar-value { fill: #ef6c00; font-weight: bold; }
    .scroll { overflow-x: auto; } table.matrix th { text-align: center; }
    td.kind-nvlink, td.kind-nvswitch { background: #e3f1e4; } td.kind-pix, td.kind-pxb { background: #e3edf8; }
    td.kind-phb, td.kind-node { background: #efe6f3; } td.kind-sys { background: #f8e3e3; } td.kind-network { background: #ececec; }
    .verdict-does-not-fit .bar-value { fill: #c62828; font-weight: bold; }
    .note { fill: #57606a; } .caption { color: #57606a; margin: 8px 0 0; }
    footer { margin-top: 32px; color: #57606a; font-size: 12px; }
    """
}
