# SPDX-License-Identifier: GPL-3.0-or-later
"""Preferences as a set-up checklist: is PyTorch importable and usable here (torch_check.py),
is CUDA there, an Install PyTorch button (the build torch_plan.py picks for this machine,
pip in a subprocess into the extension's own user folder, online only with Blender's
"Allow Online Access", offline from a folder of wheels), and the model to generate with
(bundled, official TIMAR weights with their checklist, or custom; see model_choice.py)."""

import importlib
import importlib.util
import os
import sys

import bpy
from bpy.props import EnumProperty, StringProperty

from . import installer, model_choice, torch_check, torch_plan
from .operator_guard import guarded
from .site_packages import add_site_packages, site_packages_dir

_install: installer.PipInstall | None = None
_torch_info: dict = {}


def torch_status(load: bool = False) -> dict:
    """{'found', 'version', 'cuda', 'where', 'problem'}; imports torch only when ``load`` or
    already loaded. ``problem`` is torch_check's (severity, line) or None."""
    importlib.invalidate_caches()
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        spec = None
    where = os.path.dirname(spec.origin) if spec and spec.origin else None
    info = {"found": spec is not None, "version": None, "cuda": None, "where": where,
            "problem": None}
    site = os.path.dirname(where) if where else None
    machine = torch_plan.this_machine()
    check = dict(site=site, nvidia_driver=machine.nvidia, os_name=machine.os)
    if spec is not None and (load or "torch" in sys.modules):
        try:
            import torch
            info["version"] = torch.__version__
            info["cuda"] = bool(torch.cuda.is_available())
            check.update(cuda_built=torch.version.cuda is not None, cuda_available=info["cuda"])
        except Exception as exc:  # noqa: BLE001 - a broken install, or one for another Python
            info["version"] = "does not import"
            check["import_error"] = f"{type(exc).__name__}: {exc}"
    if spec is not None:
        info["problem"] = torch_check.diagnose(**check)
    _torch_info.clear()
    _torch_info.update(info)
    return info


def get_prefs(context=None):
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


class TIMAR_OT_install_torch(bpy.types.Operator):
    """Install PyTorch with pip into this extension's own folder"""
    bl_idname = "timar.install_torch"
    bl_label = "Install PyTorch"

    @classmethod
    def poll(cls, _context):
        return _install is None or _install.state != "running"

    def _start(self, context):
        """The pip run for this machine's plan, or a one-line reason why not (str)."""
        global _install
        try:
            plan = install_plan(context)
        except torch_plan.PlanError as exc:
            return str(exc)
        if not plan.offline and not online_access():
            return OFFLINE_LINE
        cmd = plan.command(sys.executable, site_packages_dir())
        _install = installer.PipInstall(cmd, plan.env()).start()
        return _install

    @guarded
    def execute(self, context):
        job = self._start(context)
        if isinstance(job, str):
            self.report({'ERROR'}, job)
            return {'CANCELLED'}
        job.wait()
        return self._done(job)

    def _done(self, job):
        torch_status()
        if job.state == "ok":
            self.report({'INFO'}, "PyTorch installed")
            return {'FINISHED'}
        self.report({'ERROR'}, f"{job.phase}: " + " | ".join(job.tail(3)))
        return {'CANCELLED'}

    @guarded
    def invoke(self, context, _event):
        if bpy.app.background:
            return self.execute(context)
        job = self._start(context)
        if isinstance(job, str):
            self.report({'ERROR'}, job)
            return {'CANCELLED'}
        bpy.app.timers.register(_poll_install, first_interval=0.5)
        return {'FINISHED'}


OFFLINE_LINE = ("Online access is off: allow it (Preferences > System > Network > Allow "
                "Online Access) or set Local wheels to a folder of PyTorch wheels")


def online_access() -> bool:
    """Blender's "Allow Online Access" (4.2+): the extension may use the network only when
    it is on."""
    return bool(getattr(bpy.app, "online_access", True))


def install_plan(context=None) -> torch_plan.Plan:
    """What Install PyTorch would run on this machine with these preferences."""
    prefs = get_prefs(context)
    build = prefs.torch_variant if prefs else "AUTO"
    links = bpy.path.abspath(prefs.find_links) if prefs and prefs.find_links else ""
    package = prefs.package_spec if prefs else "torch"
    return torch_plan.plan(torch_plan.this_machine(), build, links, package)


def _poll_install():
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == 'PREFERENCES':
                area.tag_redraw()
    if _install is not None and _install.state == "running":
        return 0.5
    if _install is not None:
        torch_status(load=_install.state == "ok")
        kind = 'INFO' if _install.state == "ok" else 'ERROR'
        message = f"PyTorch install: {_install.phase}"
        try:
            bpy.ops.timar.report_message(kind=kind, message=message)
        except (RuntimeError, AttributeError) as exc:   # no window, or unregistered meanwhile
            print(f"TIMAR {kind}: {message} ({exc})")
    return None


class TIMAR_OT_check_torch(bpy.types.Operator):
    """Import PyTorch to show its version and whether CUDA works (takes a few seconds)"""
    bl_idname = "timar.check_torch"
    bl_label = "Check PyTorch"

    @guarded
    def execute(self, _context):
        info = torch_status(load=True)
        self.report({'INFO'}, f"PyTorch {info['version']}, CUDA {'yes' if info['cuda'] else 'no'}"
                    if info["found"] else "PyTorch is not installed")
        return {'FINISHED'}


class TIMAR_OT_show_pip_log(bpy.types.Operator):
    """Put the full pip log in a text block (Text Editor: 'TIMAR pip log')"""
    bl_idname = "timar.show_pip_log"
    bl_label = "Open pip Log"

    @classmethod
    def poll(cls, _context):
        return _install is not None

    @guarded
    def execute(self, _context):
        text = bpy.data.texts.get("TIMAR pip log") or bpy.data.texts.new("TIMAR pip log")
        text.from_string(" ".join(_install.cmd) + "\n\n" + "\n".join(_install.log))
        self.report({'INFO'}, "the pip log is in the Text Editor as 'TIMAR pip log'")
        return {'FINISHED'}


class TIMAR_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    torch_variant: EnumProperty(name="Build", default='AUTO', items=[
        ('AUTO', "Automatic", "CUDA with an NVIDIA GPU (Windows, Linux), the Apple GPU build "
                              "on macOS, otherwise CPU"),
        ('CPU', "CPU", "The CPU build of PyTorch (about 200 MB)"),
        ('CUDA', "CUDA 13.0", "The NVIDIA CUDA build (several GB); needs NVIDIA driver 580 or newer")])
    find_links: StringProperty(name="Local wheels", subtype='DIR_PATH',
                               description="Install offline from this folder of wheels "
                                           "(pip --no-index --find-links)")
    package_spec: StringProperty(name="Packages", default="torch",
                                 description="What pip installs (a version can be pinned; "
                                             "add transformers for the official weights)")
    model_source: EnumProperty(name="Model", default=model_choice.BUNDLED,
                               items=model_choice.MODEL_ITEMS,
                               description="The model Generate uses (a scene's Checkpoint "
                                           "option overrides it)")
    official_checkpoint: StringProperty(name="TIMAR.pth", subtype='FILE_PATH',
                                        description="The official TIMAR weights file")
    speech_model_dir: StringProperty(name="wav2vec2 folder", subtype='DIR_PATH',
                                     description="A local copy of facebook/wav2vec2-large-"
                                                 "960h-lv60-self (config.json and weights) "
                                                 "for the official weights")
    custom_checkpoint: StringProperty(name="Checkpoint", subtype='FILE_PATH',
                                      description="A checkpoint trained with this project")

    def draw(self, context):
        layout = self.layout
        info = _torch_info or torch_status()
        box = layout.box()
        problem = info.get("problem")
        if problem:
            box.label(text=problem[1], icon='ERROR' if problem[0] == "ERROR" else 'INFO')
        if info["found"]:
            ver = info["version"] or "found (not loaded yet)"
            box.label(text=f"PyTorch: {ver}",
                      icon='ERROR' if problem and problem[0] == "ERROR" else 'CHECKMARK')
            if info["cuda"] is not None:
                box.label(text="CUDA: available" if info["cuda"] else "CUDA: not available (CPU only)",
                          icon='CHECKMARK' if info["cuda"] else 'INFO')
            box.operator("timar.check_torch", icon='FILE_REFRESH')
        else:
            box.label(text="PyTorch is not installed: generation needs it", icon='ERROR')
        col = layout.column()
        col.prop(self, "torch_variant")
        col.prop(self, "find_links")
        col.prop(self, "package_spec")
        try:
            col.label(text=install_plan(context).why, icon='INFO')
        except torch_plan.PlanError as exc:
            col.label(text=str(exc), icon='ERROR')
        if not self.find_links and not online_access():
            warn = col.box()
            warn.label(text=OFFLINE_LINE, icon='INTERNET_OFFLINE')
            if not getattr(bpy.app, "online_access_override", False):
                warn.prop(context.preferences.system, "use_online_access")
        col.label(text=f"Installs into: {site_packages_dir()}")
        job = _install
        if job is not None and job.state == "running":
            col.progress(factor=job.fraction, text=job.phase, type='BAR')
        else:
            col.operator("timar.install_torch", icon='IMPORT')
        if job is not None and job.state == "failed":
            err = layout.box()
            err.label(text=job.phase, icon='ERROR')
            for line in job.tail(12):
                err.label(text=line[:160])
            err.operator("timar.show_pip_log", icon='TEXT')
        elif job is not None and job.state == "ok":
            layout.label(text="PyTorch installed", icon='CHECKMARK')
        model_choice.draw(layout, self)


classes = (TIMAR_OT_install_torch, TIMAR_OT_check_torch, TIMAR_OT_show_pip_log,
           TIMAR_AddonPreferences)


def register():
    add_site_packages()
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    global _install
    if _install is not None:
        _install.cancel()
        _install = None
    if bpy.app.timers.is_registered(_poll_install):
        bpy.app.timers.unregister(_poll_install)
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
