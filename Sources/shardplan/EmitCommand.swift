import ArgumentParser
import Foundation
import ShardPlan

/// `--emit LIST --output DIR`, shared by `plan` and `emit`.
struct EmitOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Launch files to write: all, or any of \(EmitFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
      valueName: "list"
    )
  )
  var emit: String?

  @Option(help: ArgumentHelp("Folder for the launch files (created if missing).", valueName: "dir"))
  var output: String?

  func validate() throws {
    if emit != nil && output == nil { throw ValidationError("--emit needs --output DIR") }
    if output != nil && emit == nil { throw ValidationError("--output needs --emit LIST") }
    if let emit {
      do { _ = try EmitFormat.parseList(emit) } catch { throw ValidationError("\(error)") }
    }
  }

  /// Writes the plan's launch files when `--emit` was given, and says which on
  /// standard error (standard output keeps the plan). Exits 2 when a format
  /// cannot express the plan or a file cannot be written.
  func write(plan: Plan, graph: DeviceGraph, models: [String: ModelSpec], origin: String) {
    guard let emit, let output else { return }
    do {
      let formats = try EmitFormat.parseList(emit)
      let emitter = Emitter(plan: plan, graph: graph, models: models, origin: origin)
      let files = try emitter.emit(formats)
      try EmittedFiles.write(files, to: output)
      let list = files.map(\.name).joined(separator: ", ")
      var report = "wrote \(files.count) file(s) to \(output): \(list)\n"
      if formats == nil {
        for (format, reason) in emitter.skippedFormats() { report += "  not \(format.rawValue): \(reason)\n" }
      }
      FileHandle.standardError.write(Data(report.utf8))
    } catch {
      failWithInputError(error)
    }
  }
}

enum EmittedFiles {
  static func file(_ path: String) -> String { (path as NSString).lastPathComponent }

  /// Writes every file into `folder`: each to a temporary name first, then renamed
  /// into place, so no file is ever left half-written; shell scripts executable.
  static func write(_ files: [EmittedFile], to folder: String) throws {
    let manager = FileManager.default
    var isFolder: ObjCBool = false
    if manager.fileExists(atPath: folder, isDirectory: &isFolder) {
      guard isFolder.boolValue else {
        throw InputError(
          .unreadable,
          source: folder,
          message: "is a file, not a folder",
          fix: "Name a folder for --output"
        )
      }
    } else {
      do {
        try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
      } catch {
        throw InputError(
          .unreadable,
          source: folder,
          message: "cannot create the folder (\(error.localizedDescription))",
          fix: "Check the path, and that its parent folder exists and is writable"
        )
      }
    }
    Self.removeStaleTemporaries(in: folder)
    // Every target is checked before anything is written: a folder (or anything
    // but a plain file) where a launch file goes stops the whole set.
    for file in files {
      let target = (folder as NSString).appendingPathComponent(file.name)
      var info = stat()
      if lstat(target, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
        throw InputError(
          .unreadable,
          source: target,
          message: "is not a plain file, so no launch file was written",
          fix: "Move \(Self.file(target)) away, or write to another --output folder"
        )
      }
    }
    var temporary: [String] = []
    defer { for path in temporary { unlink(path) } }
    var staged: [(String, String)] = []
    for file in files {
      let target = (folder as NSString).appendingPathComponent(file.name)
      let partial = (folder as NSString).appendingPathComponent(".\(file.name).partial-\(getpid())")
      temporary.append(partial)
      // POSIX calls: no temporaries of Foundation's own are left by a kill.
      unlink(partial)
      let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL, file.executable ? 0o755 : 0o644)
      guard descriptor >= 0 else {
        throw InputError(
          .unreadable,
          source: target,
          message: "cannot write the file (\(String(cString: strerror(errno))))",
          fix: "Check that the folder is writable"
        )
      }
      let bytes = Array(file.contents.utf8)
      var written = 0
      while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        written += count
      }
      let synced = fsync(descriptor) == 0
      close(descriptor)
      // The umask may have narrowed the mode: set it as planned.
      guard written == bytes.count, synced, chmod(partial, file.executable ? 0o755 : 0o644) == 0 else {
        throw InputError(
          .unreadable,
          source: target,
          message: "cannot write the file whole (\(String(cString: strerror(errno))))",
          fix: "Check that the folder is writable and has space"
        )
      }
      staged.append((partial, target))
    }
    for (partial, target) in staged {
      guard rename(partial, target) == 0 else {
        throw InputError(
          .unreadable,
          source: target,
          message: "cannot move the file into place (\(String(cString: strerror(errno))))",
          fix: "Check that the folder is writable and that \(Self.file(target)) is not a folder"
        )
      }
    }
    temporary.removeAll()
  }

  /// Removes `.NAME.partial-PID` files a killed run of shardplan left in `folder`
  /// (their process is gone); another running shardplan's are kept.
  static func removeStaleTemporaries(in folder: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for name in names where name.hasPrefix(".") {
      guard let marker = name.range(of: ".partial-", options: .backwards),
        let pid = Int32(name[marker.upperBound...]), pid > 0, pid != getpid()
      else { continue }
      if kill(pid, 0) != 0 && errno == ESRCH {
        unlink((folder as NSString).appendingPathComponent(name))
      }
    }
  }
}

struct EmitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emit",
    abstract:
      "Write launch files (accelerate, DeepSpeed, device_map, vLLM, SGLang, llama.cpp, torchrun) for a layout file.",
    discussion: """
      The layout is validated first (as `shardplan validate` does); a layout with problems or one \
      that does not fit gets no files and exit status 1. Bad input exits with status 2.
      """
  )

  @Argument(help: "The layout file (YAML), as `shardplan plan --format yaml` writes it or by hand.")
  var layout: String

  @Option(help: "Topology, overriding the file's `topology:`.")
  var topology: String?

  @OptionGroup var emitting: EmitOptions

  func validate() throws {
    if emitting.emit == nil { throw ValidationError("emit needs --emit LIST and --output DIR") }
  }

  func run() throws {
    let report = ValidateCommand.check(layout, topology: topology)
    guard report.findings.isEmpty, let plan = report.plan, let graph = report.graph, report.verdict != .doesNotFit
    else {
      print("\(layout): not writing launch files; \(report.findings.count) problem(s):")
      for finding in report.findings { print("  \(finding)") }
      throw ExitCode(1)
    }
    emitting.write(
      plan: plan,
      graph: graph,
      models: report.models,
      origin: "shardplan emit \((layout as NSString).lastPathComponent)"
    )
  }
}
