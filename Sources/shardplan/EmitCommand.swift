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
    var temporary: [String] = []
    defer { for path in temporary { try? manager.removeItem(atPath: path) } }
    var staged: [(String, String)] = []
    for file in files {
      let target = (folder as NSString).appendingPathComponent(file.name)
      let partial = (folder as NSString).appendingPathComponent(".\(file.name).partial-\(getpid())")
      temporary.append(partial)
      guard manager.createFile(atPath: partial, contents: Data(file.contents.utf8)) else {
        throw InputError(
          .unreadable,
          source: target,
          message: "cannot write the file",
          fix: "Check that the folder is writable"
        )
      }
      do {
        try manager.setAttributes([.posixPermissions: file.executable ? 0o755 : 0o644], ofItemAtPath: partial)
      } catch {
        throw InputError(
          .unreadable,
          source: target,
          message: "cannot set the file's permissions (\(error.localizedDescription))",
          fix: "Write to a folder on a file system that keeps Unix permissions"
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
}

struct EmitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "emit",
    abstract:
      "Write launch files (accelerate, DeepSpeed, device_map, vLLM, SGLang, llama.cpp, torchrun) for a layout file.",
    discussion: """
      The layout is validated first (as `shardplan validate` does); a layout with problems or one
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
