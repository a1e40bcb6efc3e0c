/// `nvidia-smi --query-gpu=FIELDS --format=csv[,noheader][,nounits]`.
///
/// Any subset of fields in any order. Memory values are MiB (with or without the
/// ` MiB` unit) and become exact bytes; `[N/A]` and `[Not Supported]` become
/// unknown. Field names not used by shardplan are read and ignored.
enum QueryCSV {
  struct Field: Hashable {
    var name: String
    var unit: String?
  }

  /// Field names shardplan uses; others are accepted and ignored.
  static let knownFields: Set<String> = [
    "index", "name", "gpu_name", "uuid", "gpu_uuid", "pci.bus_id", "gpu_bus_id", "memory.total",
    "memory.used", "memory.free", "memory.reserved", "compute_cap", "pcie.link.gen.max",
    "pcie.link.gen.current", "pcie.link.gen.gpumax", "pcie.link.gen.hostmax", "pcie.link.width.max",
    "pcie.link.width.current", "mig.mode.current", "driver_version", "vbios_version", "serial",
    "count", "persistence_mode", "pstate", "temperature.gpu", "utilization.gpu", "power.draw",
    "power.limit", "clocks.sm", "clocks.max.sm", "clocks.mem", "display_mode", "timestamp",
  ]

  /// True when the line is a `--format=csv` header: comma-separated field names,
  /// each optionally followed by a `[unit]`, at least two, including a known one.
  static func isHeader(_ line: String) -> Bool {
    let items = line.split(separator: ",").map { $0.trimmingWhitespace() }
    guard items.count >= 2 else { return false }
    var known = 0
    for item in items {
      let name = item.split(separator: " ").first.map(String.init) ?? ""
      guard !name.isEmpty, name.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "." || $0 == "_" }) else {
        return false
      }
      if knownFields.contains(name) { known += 1 }
    }
    return known >= 1
  }

  /// True when the line could be a header-less row with this many fields.
  static func looksLikeDataRow(_ line: String, fieldCount: Int) -> Bool {
    let values = splitRow(line.trimmingWhitespace())
    return values.count == fieldCount && values.first.map { Int($0) != nil || $0.hasPrefix("NVIDIA") } == true
  }

  static func parseHeader(_ line: String, source: String, line number: Int) throws -> [Field] {
    try line.split(separator: ",").map { item in
      let text = item.trimmingWhitespace()
      let parts = text.split(separator: " ", maxSplits: 1)
      guard let name = parts.first.map(String.init) else {
        throw InputError(.malformed, source: source, line: number, message: "empty CSV header field")
      }
      var unit: String?
      if parts.count == 2 {
        let rest = parts[1].trimmingWhitespace()
        guard rest.hasPrefix("["), rest.hasSuffix("]") else {
          throw InputError(
            .malformed,
            source: source,
            line: number,
            field: name,
            message: "unexpected text '\(rest)' after the field name",
            expected: "a unit in brackets such as [MiB]"
          )
        }
        unit = String(rest.dropFirst().dropLast())
      }
      return Field(name: name, unit: unit)
    }
  }

  static func splitRow(_ line: String) -> [String] {
    line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
  }

  /// Stores one value of a row into `gpu`.
  static func apply(field: Field, value: String, to gpu: inout GPUFacts, source: String, line: Int) throws {
    if value.hasPrefix("[") || value == "N/A" || value.isEmpty { return }  // [N/A], [Not Supported]
    func bad(_ expected: String) -> InputError {
      InputError(
        .malformed,
        source: source,
        line: line,
        field: field.name,
        message: "value '\(value)' does not fit field \(field.name)",
        expected: expected,
        fix: "Check that the header and the rows come from the same nvidia-smi command"
      )
    }
    func mebibytes() throws -> Int64 {
      var text = value
      if text.hasSuffix("MiB") { text = text.dropLast(3).trimmingWhitespace() }
      guard let mib = Int64(text), mib >= 0, mib < (1 << 40) else { throw bad("a whole number of MiB") }
      return mib * Units.mebibyte
    }
    func integer() throws -> Int {
      var text = value
      if text.hasSuffix("x") { text.removeLast() }
      guard let number = Int(text), number >= 0 else { throw bad("a whole number") }
      return number
    }
    switch field.name {
    case "index":
      let index = try integer()
      guard index < 4096 else { throw bad("a GPU index below 4096") }
      gpu.index = index
    case "name", "gpu_name": gpu.name = value
    case "uuid", "gpu_uuid": gpu.uuid = value
    case "pci.bus_id", "gpu_bus_id":
      guard let busId = PCIBusID(value) else { throw bad("a PCI bus id such as 00000000:18:00.0") }
      gpu.pciBusId = busId
    case "memory.total": gpu.memoryTotalBytes = try mebibytes()
    case "memory.used": gpu.memoryUsedBytes = try mebibytes()
    case "memory.free": gpu.memoryFreeBytes = try mebibytes()
    case "memory.reserved": gpu.memoryReservedBytes = try mebibytes()
    case "compute_cap":
      guard Double(value) != nil else { throw bad("a compute capability such as 9.0") }
      gpu.computeCapability = value
    case "pcie.link.gen.max", "pcie.link.gen.gpumax": gpu.pcieGeneration = try integer()
    case "pcie.link.width.max": gpu.pcieWidth = try integer()
    case "mig.mode.current": gpu.migEnabled = value == "Enabled"
    default: break
    }
  }
}
