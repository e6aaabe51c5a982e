"""Every service and RPC of the contract, found from the generated envoi.v1
modules' descriptors: a new service or RPC is covered without editing a list."""

import importlib
import pkgutil

import envoi.v1


def service_descriptors() -> list:
    modules = [
        importlib.import_module(f"envoi.v1.{module.name}")
        for module in pkgutil.iter_modules(envoi.v1.__path__)
        if module.name.endswith("_pb2")
    ]
    return [
        service
        for module in sorted(modules, key=lambda module: module.__name__)
        for service in module.DESCRIPTOR.services_by_name.values()
    ]


def methods_by_path() -> dict:
    """ "/envoi.v1.Service/Method" -> the method's descriptor, for every RPC."""
    return {
        f"/{service.full_name}/{method.name}": method
        for service in service_descriptors()
        for method in service.methods
    }
