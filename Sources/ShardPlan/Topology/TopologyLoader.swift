import Foundation

/// The kinds of topology input shardplan recognises by content.
package enum TopologyInputKind: String, Hashable, Sendable, CaseIterable {
  /// shardplan's own YAML (`hosts:` at the top level).
  case topologyFile = "topology-yaml"
  /// nvidia-smi text outputs, one or several pasted together.
  case nvidiaSmiText = "nvidia-smi"
  /// `nvidia-smi -q -x`.
  case nvidiaSmiXML = "nvidia-smi-xml"
  /// NCCL's topology dump.
  case ncclXML = "nccl-xml"
  /// An hwloc XML export (`lstopo --of xml`).
  case hwlocXML = "hwloc-xml"

  /// Recognises input by its content; nil when it is none of the kinds.
  package static func detect(_ text: String) -> TopologyInputKind? {
    let head = String(text.prefix(4096))
    if head.contains("<nvidia_smi_log") { return .nvidiaSmiXML }
    if head.contains("<topology") && (head.contains("<object") || head.contains("hwloc")) { return .hwlocXML }
    if head.contains("<system") && head.contains("version=") { return .ncclXML }
    if TopologyFile.looksLikeTopologyFile(head) { return .topologyFile }
    if NvidiaSmiText.looksLikeNvidiaSmi(text) { return .nvidiaSmiText }
    return nil
  }
}

/// Where a ``TopologyLoader`` gets hwloc's facts: ShardPlanHwloc's
/// `HwlocSource.libhwloc` (live discovery and XML import through libhwloc), so
/// that ShardPlan itself needs no C library.
public struct HwlocSource: Sendable {
  /// Facts about this machine.
  package var localFacts: @Sendable () throws -> MachineFacts
  /// Facts from an hwloc XML file.
  package var xmlFacts: @Sendable (String) throws -> MachineFacts

  package init(
    localFacts: @escaping @Sendable () throws -> MachineFacts,
    xmlFacts: @escaping @Sendable (String) throws -> MachineFacts
  ) {
    self.localFacts = localFacts
    self.xmlFacts = xmlFacts
  }
}

/// Reads topology sources (`local`, a bundled name, files) into a ``DeviceGraph``.
public struct TopologyLoader: Sendable {
  /// Largest file read, in bytes; larger files are refused, not read.
  package static let maximumFileBytes = 64 << 20

  /// hwloc, when available.
  package var hwloc: HwlocSource?
  /// Field list for header-less `--query-gpu` CSV.
  package var queryFields: [String]?
  /// GPU model to assume for GPUs the sources do not name.
  package var assumedGPUModel: GPUSpec?
  /// Runs nvidia-smi for `local`; replaceable in tests.
  package var nvidiaSmi: NvidiaSmiRunner

  /// A loader; `hwloc` for `local` and hwloc XML files (`HwlocSource.libhwloc`
  /// of ShardPlanHwloc), `queryFields` for header-less `--query-gpu` CSV.
  public init(hwloc: HwlocSource? = nil, queryFields: [String]? = nil) {
    self.init(hwloc: hwloc, queryFields: queryFields, assumedGPUModel: nil, nvidiaSmi: NvidiaSmiRunner())
  }

  /// A loader that assumes `assumedGPUModel` for GPUs no source names (`--assume-gpu`).
  package init(hwloc: HwlocSource? = nil, queryFields: [String]? = nil, assumedGPUModel: GPUSpec?) {
    self.init(hwloc: hwloc, queryFields: queryFields, assumedGPUModel: assumedGPUModel, nvidiaSmi: NvidiaSmiRunner())
  }

  package init(
    hwloc: HwlocSource?,
    queryFields: [String]?,
    assumedGPUModel: GPUSpec?,
    nvidiaSmi: NvidiaSmiRunner
  ) {
    self.hwloc = hwloc
    self.queryFields = queryFields
    self.assumedGPUModel = assumedGPUModel
    self.nvidiaSmi = nvidiaSmi
  }

  /// Reads all sources as one machine (or, for one topology file, its hosts).
  ///
  /// - Parameter sources: `local`, names of bundled topologies, or file paths.
  ///   A topology file or bundled name must be the only source.
  /// - Throws: ``InputError`` for unreadable, unrecognised or malformed input.
  public func load(_ sources: [String]) throws -> DeviceGraph {
    let sources = sources.isEmpty ? ["local"] : sources
    if sources.count == 1, let bundled = BundledTopologies.text(named: sources[0]) {
      return try graph(fromTopologyFile: bundled, source: "bundled:\(sources[0])")
    }
    var parts: [MachineFacts] = []
    for source in sources {
      if source == "local" {
        parts.append(contentsOf: try localFacts())
        continue
      }
      if BundledTopologies.text(named: source) != nil {
        throw InputError(
          .inconsistent,
          source: source,
          message: "a bundled topology cannot be combined with other sources",
          fix: "Give the bundled name alone"
        )
      }
      // A bare name (no folder in it) that is no file was meant as a bundled name.
      if !source.contains("/"), !FileManager.default.fileExists(atPath: source) {
        throw InputError(
          .unknownName,
          source: source,
          message: "neither a file nor a bundled topology",
          expected: "a path to a topology input, `local`, or a bundled name",
          fix:
            "Run `shardplan topology --list` for the bundled names.\(NameSuggestions.didYouMean(source, among: BundledTopologies.names))"
        )
      }
      let text = try Self.readFile(source)
      guard let kind = TopologyInputKind.detect(text) else {
        throw InputError(
          .unrecognized,
          source: source,
          line: 1,
          message: "not a topology input shardplan knows",
          expected:
            "nvidia-smi output (topo -m, --query-gpu CSV, -q, -q -x, -L, nvlink -s), an hwloc XML, an NCCL topology XML, or a topology YAML with hosts:",
          fix: "Run `shardplan topology --help`, or name a bundled topology (`shardplan topology --list`)"
        )
      }
      switch kind {
      case .topologyFile:
        guard sources.count == 1 else {
          throw InputError(
            .inconsistent,
            source: source,
            message: "a topology YAML describes whole hosts and cannot be merged",
            fix: "Give the topology file alone"
          )
        }
        return try graph(fromTopologyFile: text, source: source)
      case .nvidiaSmiText: parts.append(try NvidiaSmiText.read(text, source: source, queryFields: queryFields))
      case .nvidiaSmiXML: parts.append(try NvidiaSmiXML.read(text, source: source))
      case .ncclXML: parts.append(try NCCLTopologyXML.read(text, source: source))
      case .hwlocXML:
        guard let hwloc else {
          throw InputError(
            .unrecognized,
            source: source,
            message: "hwloc XML needs the hwloc reader",
            fix: "Use the shardplan tool, or link ShardPlanHwloc"
          )
        }
        // libhwloc says only "errno 22" about a broken file: the project's own
        // reader finds the line and the cause first.
        let root = try XMLTree.parse(text, source: source)
        guard root.name == "topology" else {
          throw InputError(
            .malformed,
            source: source,
            message: "the XML's root element is <\(root.name)>, not hwloc's <topology>",
            fix: "Export the topology with `lstopo --of xml FILE` (or `hwloc-ls --of xml`)"
          )
        }
        parts.append(try hwloc.xmlFacts(source))
      }
    }
    // One machine's capture: at most a host's GPUs, before every pair gets a link
    // (an NCCL XML of 10,000 GPUs ran out of memory building them).
    for (part, source) in zip(parts, sources) where part.gpus.count > TopologyFile.maxGPUsPerHost {
      throw InputError(
        .malformed,
        source: source,
        message: "the capture lists \(part.gpus.count) GPUs",
        expected: "one machine's GPUs, at most \(TopologyFile.maxGPUsPerHost)",
        fix: "Capture each machine apart and describe the cluster in a topology YAML"
      )
    }
    let merged = FactsMerger.merge(parts)
    let name = sources.map { ($0 as NSString).lastPathComponent }.joined(separator: " + ")
    return DeviceGraphBuilder.build(
      name: name,
      hosts: [HostInput(facts: merged, assumedGPUModel: assumedGPUModel)]
    )
  }

  func graph(fromTopologyFile text: String, source: String) throws -> DeviceGraph {
    let contents = try TopologyFile.read(
      text,
      source: source,
      captureReader: { path in
        try self.captureFacts(path)
      }
    )
    return DeviceGraphBuilder.build(name: contents.name, hosts: contents.hosts)
  }

  /// Facts from one capture file of any kind but a topology file.
  func captureFacts(_ path: String) throws -> MachineFacts {
    let text = try Self.readFile(path)
    switch TopologyInputKind.detect(text) {
    case .nvidiaSmiText: return try NvidiaSmiText.read(text, source: path, queryFields: queryFields)
    case .nvidiaSmiXML: return try NvidiaSmiXML.read(text, source: path)
    case .ncclXML: return try NCCLTopologyXML.read(text, source: path)
    case .hwlocXML:
      guard let hwloc else {
        throw InputError(.unrecognized, source: path, message: "hwloc XML needs the hwloc reader")
      }
      return try hwloc.xmlFacts(path)
    case .topologyFile:
      throw InputError(
        .malformed,
        source: path,
        message: "a topology file cannot be a capture of another",
        expected: "nvidia-smi, hwloc or NCCL output"
      )
    case nil:
      throw InputError(.unrecognized, source: path, line: 1, message: "not a topology input shardplan knows")
    }
  }

  /// hwloc of this machine plus whatever nvidia-smi reports, when it is installed.
  func localFacts() throws -> [MachineFacts] {
    var parts: [MachineFacts] = []
    for (text, source) in nvidiaSmi.capture() {
      parts.append(try NvidiaSmiText.read(text, source: source))
    }
    if let hwloc { parts.append(try hwloc.localFacts()) }
    if parts.isEmpty {
      throw InputError(
        .unreadable,
        source: "local",
        message: "neither nvidia-smi nor hwloc is available",
        fix: "Install nvidia-smi (NVIDIA driver) or libhwloc, or give files"
      )
    }
    return parts
  }

  /// Reads a file as UTF-8 text, refusing files over ``maximumFileBytes``.
  package static func readFile(_ path: String) throws -> String {
    let url = URL(fileURLWithPath: path)
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    guard let attributes else {
      throw InputError(.unreadable, source: path, message: "no such file", fix: "Check the path")
    }
    if let size = attributes[.size] as? NSNumber, size.intValue > maximumFileBytes {
      throw InputError(
        .unreadable,
        source: path,
        message: "file is \(size.intValue) bytes, over the \(maximumFileBytes >> 20) MiB limit",
        expected: "a text capture of a few KiB to a few MiB"
      )
    }
    guard let data = try? Data(contentsOf: url) else {
      throw InputError(.unreadable, source: path, message: "cannot read the file", fix: "Check permissions")
    }
    return String(decoding: data, as: UTF8.self)
  }
}

/// Runs `nvidia-smi` when it is on the PATH, with a time limit, and returns the
/// outputs that shardplan reads (`--query-gpu` CSV, `topo -m`, `nvlink -s`).
package struct NvidiaSmiRunner: Sendable {
  /// Seconds each call may take before it is stopped.
  package var timeoutSeconds: Double
  /// The executable; found on the PATH when nil.
  package var executable: String?

  package init(timeoutSeconds: Double = 30, executable: String? = nil) {
    self.timeoutSeconds = timeoutSeconds
    self.executable = executable
  }

  /// The query fields requested from a live nvidia-smi.
  package static let liveQueryFields =
    "index,name,uuid,pci.bus_id,memory.total,memory.used,memory.free,compute_cap,pcie.link.gen.max,pcie.link.width.max"

  /// (output, source label) pairs; empty when nvidia-smi is absent or reports no GPU.
  package func capture() -> [(String, String)] {
    guard let path = executable ?? Self.findOnPath("nvidia-smi") else { return [] }
    var outputs: [(String, String)] = []
    let calls: [[String]] = [
      ["--query-gpu=\(Self.liveQueryFields)", "--format=csv"], ["topo", "-m"], ["nvlink", "-s"],
    ]
    for arguments in calls {
      guard let output = run(path, arguments), !output.isEmpty else { continue }
      let label = "nvidia-smi \(arguments.joined(separator: " "))"
      if NvidiaSmiText.looksLikeNvidiaSmi(output) { outputs.append((output, label)) }
    }
    return outputs
  }

  static func findOnPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  private func run(_ path: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    // A hung nvidia-smi (a GPU in a bad state) must not hang shardplan: wait for
    // output with poll(2) against a deadline, and kill the process when it passes.
    let descriptor = pipe.fileHandleForReading.fileDescriptor
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var timedOut = false
    while true {
      let remaining = deadline.timeIntervalSinceNow
      if remaining <= 0 {
        timedOut = true
        break
      }
      var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      let ready = poll(&request, 1, Int32(min(remaining * 1000, 1000)))
      if ready < 0 && errno != EINTR { break }
      if ready <= 0 { continue }
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count <= 0 { break }  // end of output
      data.append(contentsOf: buffer[0..<count])
      if data.count > TopologyLoader.maximumFileBytes {
        timedOut = true
        break
      }
    }
    if timedOut {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      return nil
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self)
  }
}
