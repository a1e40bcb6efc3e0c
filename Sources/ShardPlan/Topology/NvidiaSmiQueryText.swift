/// `nvidia-smi -q`: the indented `Key : Value` report, one section per GPU.
enum NvidiaSmiQueryText {
  /// One `Key : Value` or `Section` line with its indentation.
  struct Entry {
    var depth: Int
    var key: String
    var value: String?
    var line: Int
  }

  static func parse(lines: [String], firstLine: Int, source: String) throws -> [GPUFacts] {
    var gpus: [GPUFacts] = []
    var path: [(depth: Int, key: String)] = []
    var current: GPUFacts?
    var migIndex: Int?
    var migMemory: Int64?
    var attached: Int?
    func finishMIG() {
      if let index = migIndex, current != nil {
        current?.migInstances.append(MIGInstance(index: index, memoryBytes: migMemory))
      }
      migIndex = nil
      migMemory = nil
    }
    for (offset, raw) in lines.enumerated() {
      let lineNumber = firstLine + offset
      guard !raw.trimmingWhitespace().isEmpty, !raw.contains("NVSMI LOG") else { continue }
      let depth = raw.prefix(while: { $0 == " " }).count
      if depth == 0, raw.hasPrefix("GPU ") {
        finishMIG()
        if let current { gpus.append(current) }
        var gpu = GPUFacts(index: gpus.count)
        let busText = raw.dropFirst(4).trimmingWhitespace()
        guard let busId = PCIBusID(busText) else {
          throw InputError(
            .malformed,
            source: source,
            line: lineNumber,
            message: "GPU section header '\(raw)' has no PCI bus id",
            expected: "'GPU 00000000:18:00.0'"
          )
        }
        gpu.pciBusId = busId
        current = gpu
        path = []
        continue
      }
      guard current != nil else { continue }  // header lines: Timestamp, Driver Version …
      let key: String
      let value: String?
      if let colon = raw.firstIndex(of: ":") {
        key = raw[..<colon].trimmingWhitespace()
        value = raw[raw.index(after: colon)...].trimmingWhitespace()
      } else {
        key = raw.trimmingWhitespace()
        value = nil
      }
      while let last = path.last, last.depth >= depth { path.removeLast() }
      let keys = path.map(\.key) + [key]
      if value == nil { path.append((depth, key)) }
      guard let value else {
        if key == "MIG Device" || key.hasPrefix("MIG Device") { finishMIG() }
        continue
      }
      let joined = keys.joined(separator: "/")
      if joined == "Attached GPUs", current == nil { attached = Int(value) }
      switch joined {
      case "Product Name": current?.name = value
      case "GPU UUID": current?.uuid = value
      case "FB Memory Usage/Total":
        // The CSV reader refuses an unreadable total; so does this one.
        guard let total = mebibytes(value) else {
          throw InputError(
            .malformed,
            source: source,
            line: lineNumber,
            field: "FB Memory Usage/Total",
            message: "the GPU's memory total '\(value)' is not a size in MiB",
            expected: "a whole number of MiB, such as '81559 MiB'",
            fix: "Capture again: nvidia-smi -q > q.txt"
          )
        }
        current?.memoryTotalBytes = total
      case "FB Memory Usage/Used": current?.memoryUsedBytes = mebibytes(value)
      case "FB Memory Usage/Free": current?.memoryFreeBytes = mebibytes(value)
      case "FB Memory Usage/Reserved": current?.memoryReservedBytes = mebibytes(value)
      case "PCI/GPU Link Info/PCIe Generation/Max", "PCI/GPU Link Info/PCIe Generation/Device Max":
        if current?.pcieGeneration == nil || joined.hasSuffix("/Max") { current?.pcieGeneration = Int(value) }
      case "PCI/GPU Link Info/Link Width/Max": current?.pcieWidth = Int(value.trimmingCharacters(in: "x"))
      case "MIG Mode/Current": current?.migEnabled = value == "Enabled"
      case "GPU NUMA ID", "NUMA Node": current?.numaNode = Int(value)
      default:
        if keys.first == "MIG Devices" || keys.contains(where: { $0.hasPrefix("MIG Device") }) {
          if key == "Index" {
            finishMIG()
            migIndex = Int(value)
          } else if keys.suffix(2) == ["FB Memory Usage", "Total"] {
            migMemory = mebibytes(value)
          }
        }
      }
    }
    finishMIG()
    if let current { gpus.append(current) }
    guard !gpus.isEmpty else {
      throw InputError(
        .malformed,
        source: source,
        line: firstLine,
        message: "nvidia-smi -q output without any GPU section",
        expected: "'GPU 00000000:…' sections",
        fix: "Capture `nvidia-smi -q` again on a machine with GPUs"
      )
    }
    // A capture cut short: fewer GPU sections than it says are attached, or a
    // last section without its memory.
    if let attached, attached != gpus.count {
      throw InputError(
        .malformed,
        source: source,
        field: "Attached GPUs",
        message:
          "nvidia-smi -q says \(attached) GPUs are attached but has \(gpus.count) GPU section(s): the capture is cut short",
        expected: "one GPU section per attached GPU",
        fix: "Capture again: nvidia-smi -q > q.txt"
      )
    }
    if let last = gpus.last, last.memoryTotalBytes == nil {
      throw InputError(
        .malformed,
        source: source,
        message:
          "the last GPU section (\(last.pciBusId.map { "\($0)" } ?? "GPU \(gpus.count - 1)")) ends before its FB Memory Usage: the capture is cut short",
        expected: "whole GPU sections",
        fix: "Capture again: nvidia-smi -q > q.txt"
      )
    }
    return gpus
  }

  static func mebibytes(_ text: String) -> Int64? {
    var value = text
    if value.hasSuffix("MiB") { value = value.dropLast(3).trimmingWhitespace() }
    guard let mib = Int64(value), mib >= 0, mib < (1 << 40) else { return nil }
    return mib * Units.mebibyte
  }
}
