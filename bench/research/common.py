import os
import sys, json, re, random
sys.path.insert(0, os.path.join(os.environ.get('SHARED', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared')), 'bench'))
import grounding_baseline as g
import os
SHARED=os.environ.get('SHARED', os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared'))
DATA=SHARED+'/data/'; SPL=SHARED+'/bench/splits/'
def load(name):
    rows = g.records(DATA+name+'.csv')
    split = json.load(open(SPL+name+'_type.json'))
    train = [rows[i] for i in split['train_indices'] if i in rows]
    test = [rows[i] for i in split['test_indices'] if i in rows]
    return train, test
