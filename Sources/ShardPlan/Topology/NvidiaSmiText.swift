import Foundation

/// Reads the text outputs of `nvidia-smi`, alone or pasted one after another in
/// one file: `topo -m`, `topo -p2p`, `--query-gpu … --format=csv`, `-q`, `-L`,
/// `nvlink -s` (and `nvlink -c`, skipped), and the plain `nvidia-smi` table.
///
/// Blocks are recognised by their shape, wherever they are in the file. Lines
/// between blocks that belong to none (a prompt, a timestamp, a heading someone
/// typed) are skipped; lines inside a block that break its rules are errors.
package enum NvidiaSmiText {
  /// Reads every block in `text`.
  ///
  /// - Parameters:
  ///   - queryFields: the field list used with `--query-gpu` when the CSV has no
  ///     header (`--format=csv,noheader`); ignored when the CSV has a header.
  /// - Throws: ``InputError`` naming `source` and the line.
  package static func read(_ text: String, source: String, queryFields: [String]? = nil) throws -> MachineFacts {
    var reader = BlockReader(lines: text.textLines().map { $0.strippingANSIEscapes() }, source: source)
    reader.queryFields = queryFields
    try reader.readAll()
    guard reader.foundBlock else {
      throw InputError(
        .unrecognized,
        source: source,
        message: "no nvidia-smi output found",
        expected: "the output of nvidia-smi topo -m, --query-gpu --format=csv, -q, -q -x, -L or nvlink -s",
        fix: "Check the file, or run `shardplan topology --help` for the kinds of input read"
      )
    }
    return reader.facts
  }

  /// True when `text` looks like something ``read(_:source:queryFields:)`` reads.
  package static func looksLikeNvidiaSmi(_ text: String) -> Bool {
    for rawLine in text.textLines().prefix(400) {
      let line = rawLine.strippingANSIEscapes()
      let fields = line.fields()
      if fields.first.map({ $0.hasPrefix("GPU0") }) == true { return true }
      if line.hasPrefix("GPU "), line.contains(": "), line.contains("(UUID:") { return true }
      if line.contains("NVSMI LOG") || line.hasPrefix("| NVIDIA-SMI") { return true }
      if QueryCSV.isHeader(line) { return true }
    }
    return false
  }
}

// MARK: - Block reader

private struct BlockReader {
  let lines: [String]
  let source: String
  var queryFields: [String]?
  var position = 0
  var facts = MachineFacts()
  var foundBlock = false
  var sawTopoMatrix = false
  /// NIC legend (`NIC0: mlx5_0`) names to apply to numbered NIC columns.
  var nicLegend: [String: String] = [:]

  init(lines: [String], source: String) {
    self.lines = lines
    self.source = source
    facts.sources = [source]
  }

  func error(_ message: String, line: Int, expected: String? = nil, fix: String? = nil) -> InputError {
    InputError(
      .malformed,
      source: source,
      line: line + 1,
      message: message,
      expected: expected,
      fix: fix ?? "Paste the nvidia-smi output unchanged, or remove the broken part"
    )
  }

  mutating func readAll() throws {
    while position < lines.count {
      let start = position
      defer {
        // A block reader that recognised nothing must not stall the scan (found by fuzzing).
        if position == start { position += 1 }
      }
      let line = lines[position]
      let fields = line.fields()
      if line.contains("NVSMI LOG") {
        try readQueryText()
      } else if line.hasPrefix("| NVIDIA-SMI") {
        try readSummaryTable()
      } else if let first = fields.first, first.hasPrefix("GPU0") || (first == "GPU0") {
        try readMatrix()
      } else if line.hasPrefix("GPU "), line.contains("(UUID:") {
        try readDeviceList()
      } else if QueryCSV.isHeader(line) {
        try readCSV(hasHeader: true)
      } else if let queryFields, QueryCSV.looksLikeDataRow(line, fieldCount: queryFields.count) {
        try readCSV(hasHeader: false)
      } else if line.trimmingWhitespace() == "NIC Legend:" {
        readNICLegend()
      } else {
        position += 1
      }
    }
    applyNICLegend()
  }

  // MARK: topo -m and topo -p2p

  /// Splits header tokens, separating GPU names that old drivers ran together
  /// (`GPU0GPU1mlx5_0`).
  static func headerColumns(_ tokens: [String]) -> [String] {
    var columns: [String] = []
    for token in tokens {
      var rest = Substring(token)
      while rest.hasPrefix("GPU"), rest.count > 3, rest.dropFirst(3).first?.isNumber == true {
        let digits = rest.dropFirst(3).prefix(while: { $0.isNumber })
        columns.append("GPU" + digits)
        rest = rest.dropFirst(3 + digits.count)
      }
      if !rest.isEmpty { columns.append(String(rest)) }
    }
    return columns
  }

  mutating func readMatrix() throws {
    let headerLine = position
    var tokens = Self.headerColumns(lines[position].fields())
    // Trailing labels of several words.
    var extraColumns: [String] = []
    let labels = [["GPU", "NUMA", "ID"], ["CPU", "Affinity"], ["NUMA", "Affinity"]]
    var matched = true
    while matched {
      matched = false
      for label in labels where tokens.count >= label.count && Array(tokens.suffix(label.count)) == label {
        extraColumns.insert(label.joined(separator: " "), at: 0)
        tokens.removeLast(label.count)
        matched = true
      }
    }
    let deviceColumns = tokens
    // A GPU column is GPU and digits, however many (GPU99999999999999999999 is a
    // damaged header, refused below, not a column of another kind).
    func isGPUColumn(_ name: String) -> Bool {
      name.hasPrefix("GPU") && name.count > 3 && name.dropFirst(3).allSatisfy { $0.isASCII && $0.isNumber }
    }
    let gpuColumns = deviceColumns.prefix(while: isGPUColumn)
    for (offset, column) in gpuColumns.enumerated() where column != "GPU\(offset)" {
      throw error(
        "GPU columns out of order: \(column) where GPU\(offset) belongs",
        line: headerLine,
        expected: "GPU0, GPU1, … in order"
      )
    }
    guard !gpuColumns.isEmpty else {
      throw error("matrix header names no GPU", line: headerLine, expected: "GPU0 …")
    }
    let otherColumns = Array(deviceColumns.dropFirst(gpuColumns.count))
    if let stray = otherColumns.first(where: isGPUColumn) {
      throw error("GPU column \(stray) after a non-GPU column", line: headerLine)
    }
    position += 1

    // Rows.
    var rows: [(label: String, cells: [String], extra: [String], line: Int)] = []
    while position < lines.count {
      let fields = lines[position].fields()
      if fields.isEmpty || fields.first == "Legend:" { break }
      guard let label = fields.first, deviceColumns.contains(label) else {
        break
      }
      let cells = Array(fields.dropFirst().prefix(deviceColumns.count))
      let extra = Array(fields.dropFirst(1 + deviceColumns.count))
      rows.append((label, cells, extra, position))
      position += 1
    }
    guard !rows.isEmpty else {
      throw error(
        "matrix header without rows",
        line: headerLine,
        expected: "one row per column, starting with GPU0",
        fix: "The matrix looks truncated; capture it again"
      )
    }
    let isPeerToPeer =
      rows.allSatisfy { row in
        row.cells.allSatisfy { $0 == "X" || PeerToPeerStatus(rawValue: $0) != nil }
      } && rows.contains { row in row.cells.contains { PeerToPeerStatus(rawValue: $0) != nil } }

    // Every GPU column needs its row.
    for (offset, column) in gpuColumns.enumerated() {
      guard offset < rows.count, rows[offset].label == column else {
        let at = offset < rows.count ? rows[offset].line : position
        throw error(
          "matrix has no row for \(column)",
          line: at,
          expected: "\(gpuColumns.count) GPU rows in column order",
          fix: "The matrix looks truncated; capture `nvidia-smi topo -m` again"
        )
      }
    }
    foundBlock = true
    if isPeerToPeer {
      try storePeerToPeer(rows: rows, gpuCount: gpuColumns.count)
    } else {
      guard !sawTopoMatrix else {
        throw error(
          "a second `topo -m` matrix in one file",
          line: headerLine,
          expected: "one machine per file",
          fix: "Split the file: one machine's outputs per file"
        )
      }
      sawTopoMatrix = true
      try storeTopology(
        rows: rows,
        gpuCount: gpuColumns.count,
        otherColumns: otherColumns,
        extraColumns: extraColumns
      )
    }
  }

  mutating func storePeerToPeer(
    rows: [(label: String, cells: [String], extra: [String], line: Int)],
    gpuCount: Int
  ) throws {
    for i in 0..<gpuCount {
      let row = rows[i]
      guard row.cells.count >= gpuCount else {
        throw error("row \(row.label) has \(row.cells.count) cells", line: row.line, expected: "\(gpuCount)")
      }
      for j in 0..<gpuCount where i != j {
        guard let status = PeerToPeerStatus(rawValue: row.cells[j]) else {
          throw error(
            "unknown topo -p2p code '\(row.cells[j])' in row \(row.label)",
            line: row.line,
            expected: "OK, CNS, GNS, TNS, NS, DR or U"
          )
        }
        let pair = GPUPair(i, j)
        if let previous = facts.peerToPeer[pair], previous != status {
          // Read and write matrices may differ; keep the weaker answer.
          if !status.isSupported { facts.peerToPeer[pair] = status }
        } else {
          facts.peerToPeer[pair] = status
        }
      }
    }
    ensureGPUs(count: gpuCount)
  }

  mutating func storeTopology(
    rows: [(label: String, cells: [String], extra: [String], line: Int)],
    gpuCount: Int,
    otherColumns: [String],
    extraColumns: [String]
  ) throws {
    let columnCount = gpuCount + otherColumns.count
    var cells: [[TopoCell?]] = []
    for (rowIndex, row) in rows.enumerated() {
      guard row.cells.count == columnCount else {
        throw error(
          "row \(row.label) has \(row.cells.count) link cells",
          line: row.line,
          expected: "\(columnCount), one per column of the header",
          fix: "Rows and columns disagree; capture `nvidia-smi topo -m` again"
        )
      }
      var parsed: [TopoCell?] = []
      for (columnIndex, code) in row.cells.enumerated() {
        if code == "X" {
          guard columnIndex == rowIndex else {
            throw error("'X' (self) off the diagonal in row \(row.label)", line: row.line)
          }
          parsed.append(nil)
          continue
        }
        guard let cell = TopoCell(code: code) else {
          throw error(
            "unknown link code '\(code)' in row \(row.label)",
            line: row.line,
            expected: "X, NV#, PIX, PXB, PHB, NODE, SYS or SOC",
            fix: "If a newer driver added this code, please report it with the full output"
          )
        }
        if case .nvlink = cell, columnIndex >= gpuCount || rowIndex >= gpuCount {
          throw error("NVLink code '\(code)' between a GPU and a NIC", line: row.line)
        }
        parsed.append(cell)
      }
      if rowIndex < columnCount, parsed[rowIndex] != nil {
        throw error("row \(row.label) has no 'X' on the diagonal", line: row.line)
      }
      cells.append(parsed)
    }
    // Symmetry between GPUs.
    for i in 0..<gpuCount {
      for j in (i + 1)..<max(i + 1, gpuCount) where cells[i][j] != cells[j][i] {
        throw error(
          "GPU\(i)→GPU\(j) is \(cells[i][j].map(String.init(describing:)) ?? "X") but GPU\(j)→GPU\(i) is \(cells[j][i].map(String.init(describing:)) ?? "X")",
          line: rows[j].line,
          expected: "a symmetric matrix"
        )
      }
    }
    ensureGPUs(count: gpuCount)
    for i in 0..<gpuCount {
      for j in (i + 1)..<max(i + 1, gpuCount) {
        if let cell = cells[i][j] { facts.pairs[GPUPair(i, j)] = cell }
      }
      // Trailing columns: CPU Affinity, NUMA Affinity, GPU NUMA ID, in header order.
      let extra = rows[i].extra
      if extra.count > extraColumns.count && !(extraColumns.isEmpty && extra.isEmpty) {
        throw error(
          "row GPU\(i) has \(extra.count) values after its link cells but the header has \(extraColumns.count) more columns",
          line: rows[i].line,
          expected: "as many cells as header columns",
          fix: "Rows and columns disagree; capture `nvidia-smi topo -m` again"
        )
      }
      for (offset, column) in extraColumns.enumerated() where offset < extra.count {
        let value = extra[offset]
        switch column {
        case "CPU Affinity": if value != "N/A" { facts.gpus[i].cpuAffinity = value }
        case "NUMA Affinity":
          if let numa = Int(value) {
            facts.gpus[i].numaNode = numa
          } else if value != "N/A", let first = value.split(separator: "-").first.flatMap({ Int($0) }) {
            facts.gpus[i].numaNode = first
            facts.notes.append("GPU\(i) NUMA affinity is a range (\(value)); using node \(first)")
          }
        case "GPU NUMA ID": if let numa = Int(value) { facts.gpus[i].memoryNUMANode = numa }
        default: break
        }
      }
    }
    // NIC columns.
    for (offset, name) in otherColumns.enumerated() {
      var nic = NICFacts(name: name)
      for i in 0..<gpuCount {
        if case .pcie(let kind) = cells[i][gpuCount + offset] { nic.pathToGPU[i] = kind }
      }
      if let existing = facts.nics.firstIndex(where: { $0.name == name }) {
        facts.nics[existing].pathToGPU.merge(nic.pathToGPU) { old, _ in old }
      } else {
        facts.nics.append(nic)
      }
    }
  }

  mutating func ensureGPUs(count: Int) {
    while facts.gpus.count < count { facts.gpus.append(GPUFacts(index: facts.gpus.count)) }
  }

  mutating func readNICLegend() {
    position += 1
    while position < lines.count {
      let trimmed = lines[position].trimmingWhitespace()
      if trimmed.isEmpty {
        position += 1
        if nicLegend.isEmpty { continue }
        break
      }
      let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingWhitespace() }
      guard parts.count == 2, parts[0].hasPrefix("NIC") else { break }
      nicLegend[parts[0]] = parts[1]
      position += 1
    }
  }

  mutating func applyNICLegend() {
    for index in facts.nics.indices {
      if let name = nicLegend[facts.nics[index].name] { facts.nics[index].name = name }
    }
  }

  // MARK: -L and nvlink -s / -c

  /// `GPU i: NAME (UUID: GPU-…)` lines, each followed by MIG device lines
  /// (`-L`), link rate lines (`nvlink -s`) or capability lines (`nvlink -c`).
  mutating func readDeviceList() throws {
    while position < lines.count {
      let line = lines[position]
      guard line.hasPrefix("GPU "), let colon = line.firstIndex(of: ":"),
        let index = Int(line[line.index(line.startIndex, offsetBy: 4)..<colon].trimmingWhitespace())
      else { break }
      foundBlock = true
      let rest = line[line.index(after: colon)...]
      let name: String
      var uuid: String?
      if let open = rest.range(of: "(UUID:") {
        name = rest[..<open.lowerBound].trimmingWhitespace()
        uuid = rest[open.upperBound...].trimmingWhitespace().trimmingCharacters(in: ")")
      } else {
        name = rest.trimmingWhitespace()
      }
      ensureGPUs(count: index + 1)
      if !name.isEmpty { facts.gpus[index].name = name }
      if let uuid, !uuid.isEmpty { facts.gpus[index].uuid = uuid }
      position += 1
      var rates: [Int64] = []
      var sawRates = false
      var migInstances: [MIGInstance] = []
      while position < lines.count {
        let detail = lines[position].trimmingWhitespace()
        if detail.hasPrefix("Link ") {
          // "Link 3: 25 GB/s", "Link 3: <inactive>", or "Link 3, P2P is supported: true".
          if let colon = detail.firstIndex(of: ":"), !detail[..<colon].contains(",") {
            sawRates = true
            let value = detail[detail.index(after: colon)...].trimmingWhitespace()
            if let rate = Units.parseBytesPerSecond(value) {
              rates.append(rate)
            } else if !value.hasPrefix("<") {
              throw error(
                "unreadable NVLink rate '\(value)'",
                line: position,
                expected: "a rate such as '25 GB/s' or '<inactive>'"
              )
            }
          }
          position += 1
        } else if detail.hasPrefix("MIG ") {
          migInstances.append(try parseMIGLine(detail))
          position += 1
        } else {
          break
        }
      }
      if sawRates { facts.gpus[index].nvlinkRates = rates }
      if !migInstances.isEmpty {
        facts.gpus[index].migEnabled = true
        facts.gpus[index].migInstances = migInstances
      }
    }
  }

  /// `MIG 1g.10gb     Device  0: (UUID: MIG-…)`.
  func parseMIGLine(_ detail: String) throws -> MIGInstance {
    let fields = detail.fields()
    guard fields.count >= 4, let deviceAt = fields.firstIndex(of: "Device"), deviceAt + 1 < fields.count,
      let index = Int(fields[deviceAt + 1].trimmingCharacters(in: ":"))
    else {
      throw error("unreadable MIG device line", line: position, expected: "'MIG PROFILE Device N: (UUID: MIG-…)'")
    }
    let profile = deviceAt >= 2 ? fields[1] : nil
    var uuid: String?
    if let open = detail.range(of: "UUID:") {
      uuid = detail[open.upperBound...].trimmingWhitespace().trimmingCharacters(in: ")")
    }
    var memory: Int64?
    if let profile, let gb = profile.split(separator: ".").last, gb.hasSuffix("gb"), let value = Int64(gb.dropLast(2)) {
      memory = value * 1_000_000_000
    }
    return MIGInstance(index: index, profile: profile, uuid: uuid, memoryBytes: memory)
  }

  // MARK: --query-gpu CSV

  mutating func readCSV(hasHeader: Bool) throws {
    let headerLine = position
    let fields: [QueryCSV.Field]
    if hasHeader {
      fields = try QueryCSV.parseHeader(lines[position], source: source, line: position + 1)
      position += 1
    } else {
      fields = (queryFields ?? []).map { QueryCSV.Field(name: $0, unit: nil) }
    }
    var rows = 0
    var seenIndices: Set<Int> = []
    while position < lines.count {
      let line = lines[position].trimmingWhitespace()
      if line.isEmpty || !line.contains(",") && fields.count > 1 { break }
      let values = QueryCSV.splitRow(line)
      guard values.count == fields.count else {
        throw error(
          "CSV row has \(values.count) values but the header has \(fields.count) fields",
          line: position,
          expected: "\(fields.count) comma-separated values (\(fields.map(\.name).joined(separator: ", ")))",
          fix: "Keep the header line that nvidia-smi printed with the rows"
        )
      }
      var gpu = GPUFacts(index: nil)
      for (field, value) in zip(fields, values) {
        try QueryCSV.apply(field: field, value: value, to: &gpu, source: source, line: position + 1)
      }
      let index = gpu.index ?? rows
      guard (0..<TopologyFile.maxGPUsPerHost).contains(index) else {
        throw error(
          "GPU index \(index) is outside 0 to \(TopologyFile.maxGPUsPerHost - 1)",
          line: position,
          expected: "nvidia-smi's GPU indices, from 0"
        )
      }
      guard !seenIndices.contains(index) else {
        throw error(
          "GPU index \(index) appears twice",
          line: position,
          expected: "one row per GPU",
          fix: "Capture once: nvidia-smi --query-gpu=… --format=csv > gpus.csv"
        )
      }
      seenIndices.insert(index)
      ensureGPUs(count: index + 1)
      mergeCSVRow(gpu, at: index)
      rows += 1
      position += 1
    }
    guard rows > 0 else {
      throw error("CSV header without rows", line: headerLine, expected: "one row per GPU")
    }
    foundBlock = true
  }

  mutating func mergeCSVRow(_ row: GPUFacts, at index: Int) {
    var gpu = facts.gpus[index]
    gpu.index = index
    if let value = row.name { gpu.name = value }
    if let value = row.uuid { gpu.uuid = value }
    if let value = row.pciBusId { gpu.pciBusId = value }
    if let value = row.memoryTotalBytes { gpu.memoryTotalBytes = value }
    if let value = row.memoryUsedBytes { gpu.memoryUsedBytes = value }
    if let value = row.memoryFreeBytes { gpu.memoryFreeBytes = value }
    if let value = row.memoryReservedBytes { gpu.memoryReservedBytes = value }
    if let value = row.computeCapability { gpu.computeCapability = value }
    if let value = row.pcieGeneration { gpu.pcieGeneration = value }
    if let value = row.pcieWidth { gpu.pcieWidth = value }
    if let value = row.migEnabled { gpu.migEnabled = value }
    facts.gpus[index] = gpu
  }

  // MARK: -q text

  mutating func readQueryText() throws {
    let start = position
    var end = position + 1
    while end < lines.count, !lines[end].contains("NVSMI LOG") || end == start + 2 { end += 1 }
    // nvidia-smi -q prints the banner twice around a blank line: consume the pair.
    let block = Array(lines[start..<lines.count])
    let parsed = try NvidiaSmiQueryText.parse(lines: block, firstLine: start + 1, source: source)
    for (offset, gpu) in parsed.enumerated() {
      ensureGPUs(count: offset + 1)
      facts.gpus[offset] = gpu
    }
    position = lines.count
    foundBlock = true
  }

  // MARK: plain nvidia-smi table

  /// The boxed table of plain `nvidia-smi`: index, name, bus id, memory used / total.
  mutating func readSummaryTable() throws {
    position += 1
    var current: Int?
    while position < lines.count {
      let line = lines[position]
      guard line.hasPrefix("|") || line.hasPrefix("+") else { break }
      let segments = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
      if segments.count >= 3 {
        let first = segments[1].fields()
        if let index = first.first.flatMap({ Int($0) }), first.count >= 3,
          let busId = segments[2].fields().first.flatMap(PCIBusID.init)
        {
          // "0  NVIDIA GeForce RTX 3090        Off": drop the persistence column.
          let name = first.dropFirst().dropLast().joined(separator: " ")
          ensureGPUs(count: index + 1)
          facts.gpus[index].name = name
          facts.gpus[index].pciBusId = busId
          current = index
        } else if let index = current, segments[2].contains("MiB /") {
          let parts = segments[2].split(separator: "/").map { $0.trimmingWhitespace() }
          if parts.count == 2, let used = Units.parseBytes(parts[0].replacingOccurrencesOfMiB()),
            let total = Units.parseBytes(parts[1].replacingOccurrencesOfMiB())
          {
            facts.gpus[index].memoryUsedBytes = used
            facts.gpus[index].memoryTotalBytes = total
          }
          current = nil
        }
      }
      position += 1
    }
    foundBlock = true
  }
}

extension String {
  /// `23074MiB` → `23074 MiB`, so the unit parser sees a separate unit.
  fileprivate func replacingOccurrencesOfMiB() -> String {
    hasSuffix("MiB") && !hasSuffix(" MiB") ? String(dropLast(3)) + " MiB" : self
  }
}

extension StringProtocol {
  /// The text without the given leading and trailing characters.
  func trimmingCharacters(in set: String) -> String {
    let characters = Set(set)
    guard let first = firstIndex(where: { !characters.contains($0) }),
      let last = lastIndex(where: { !characters.contains($0) })
    else { return "" }
    return String(self[first...last])
  }
}
