from mobcost.cli import app

app(prog_name="mobcost")
